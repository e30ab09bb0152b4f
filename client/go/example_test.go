package chainverify_test

import (
	"crypto/tls"
	"fmt"
	"log"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"chainverify"
)

// An HTTPS client whose servers are verified by the service: the one line a
// service changes is its TLSClientConfig.
func ExampleVerifier_TLSConfig() {
	v, err := chainverify.New(chainverify.Config{
		Target: "127.0.0.1:50051",
		Labels: map[string]string{"service": "billing"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: v.TLSConfig(nil)}}
	resp, err := client.Get("https://api.example.com/")
	if err != nil {
		log.Fatal(err) // errors.As finds a *chainverify.VerificationError or *ServiceError
	}
	defer resp.Body.Close()
	if verdict, ok := v.Verdict(*resp.TLS); ok {
		for _, c := range verdict.GetVerifiedChain() {
			fmt.Println(c.GetSubject())
		}
	}

	// The same hook in a grpc-go client and a plain TLS connection.
	_, _ = grpc.Dial("api.example.com:443", grpc.WithTransportCredentials(credentials.NewTLS(v.TLSConfig(nil))))
	_, _ = tls.Dial("tcp", "api.example.com:443", v.TLSConfig(nil))
}

// A TLS server that asks the service about each client (usage CLIENT_AUTH) and
// reads the verdict in its handler.
func ExampleVerifier_ServerTLSConfig() {
	v, err := chainverify.New(chainverify.Config{Target: "127.0.0.1:50051"})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	cert, err := tls.LoadX509KeyPair("server.pem", "server.key")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Addr:      ":8443",
		TLSConfig: v.ServerTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}}),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			verdict, _ := v.ClientVerdict(*r.TLS)
			fmt.Fprintln(w, "hello", verdict.GetVerifiedChain()[0].GetSubject())
		}),
	}
	log.Fatal(srv.ListenAndServeTLS("", ""))
}
