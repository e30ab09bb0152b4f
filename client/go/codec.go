package chainverify

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// protoCodec marshals with google.golang.org/protobuf, the runtime the stubs are
// generated for. grpc-go's built-in "proto" codec goes through
// github.com/golang/protobuf, which Debian 12 ships at 1.3.5: it predates the
// APIv2 messages protoc-gen-go writes and panics on them ("protobuf tag not
// enough fields in VerifyResponse.state"). Forcing this codec on our own
// connection works with either version and leaves the process-wide codec
// registry, which other gRPC clients use, alone.
type protoCodec struct{}

func (protoCodec) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("chainverify: cannot marshal %T: not a proto.Message", v)
	}
	return proto.Marshal(m)
}

func (protoCodec) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("chainverify: cannot unmarshal into %T: not a proto.Message", v)
	}
	return proto.Unmarshal(data, m)
}

// Name is the content-subtype on the wire: "application/grpc+proto".
func (protoCodec) Name() string { return "proto" }
