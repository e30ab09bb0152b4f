package chainverify.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A test PKI made with the openssl CLI in a temporary directory:
 *
 * <pre>
 * root (trusted by the test policy)
 *   inter
 *     leaf      DNS:localhost, serverAuth           (OCSP: good, stapled by the servers)
 *     expired   DNS:localhost, serverAuth, 2020
 *     revoked   DNS:localhost, serverAuth           (OCSP: revoked)
 *     client    URI:spiffe://chainverify-test/java-client, clientAuth
 * extra         self-signed, unrelated: sent by the servers, never needed
 * </pre>
 *
 * Each leaf has NAME.pem, NAME.key (PKCS#8 PEM), NAME.chain.pem (leaf + inter) and
 * NAME.p12 (password {@link #P12_PASSWORD}, for JSSE key managers);
 * NAME.served.pem is inter + extra (what the TLS servers send after the leaf);
 * NAME.ocsp.der its OCSP response signed by inter.
 */
final class TestPki {
  static final String P12_PASSWORD = "chainverify";
  static final String CLIENT_ID = "spiffe://chainverify-test/java-client";

  final Path dir;

  private TestPki(Path dir) {
    this.dir = dir;
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  static TestPki create(Path dir) throws IOException, InterruptedException {
    TestPki pki = new TestPki(dir);
    pki.make();
    return pki;
  }

  private void make() throws IOException, InterruptedException {
    write("ca.ext", "[ext]\nbasicConstraints=critical,CA:TRUE\n"
        + "keyUsage=critical,keyCertSign,cRLSign\n"
        + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    write("server.ext", "[ext]\nbasicConstraints=critical,CA:FALSE\n"
        + "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        + "subjectAltName=DNS:localhost\n"
        + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    write("client.ext", "[ext]\nbasicConstraints=critical,CA:FALSE\n"
        + "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
        + "subjectAltName=URI:" + CLIENT_ID + "\n"
        + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    // `openssl ca` is the only 3.0 command that sets past validity dates (expired leaf).
    write("ca.cnf", "[ca]\ndefault_ca=ca_default\n[ca_default]\ndatabase=ca-index.txt\n"
        + "new_certs_dir=.\nserial=ca-serial\ndefault_md=sha256\npolicy=any\n"
        + "unique_subject=no\n"
        + "[any]\ncommonName=supplied\n");
    write("ca-index.txt", "");
    write("ca-serial", "10\n");

    key("root");
    openssl("req", "-new", "-x509", "-key", "root.key", "-out", "root.pem", "-days", "30",
        "-subj", "/CN=Java Test Root",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    issue("inter", "/CN=Java Test Intermediate", "root", "ca.ext", "2");
    issue("leaf", "/CN=localhost", "inter", "server.ext", "3");
    issue("revoked", "/CN=revoked.localhost", "inter", "server.ext", "4");
    issue("client", "/CN=Java Test Client", "inter", "client.ext", "5");
    key("expired");
    openssl("req", "-new", "-key", "expired.key", "-out", "expired.csr",
        "-subj", "/CN=expired.localhost");
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "inter.pem", "-keyfile", "inter.key",
        "-in", "expired.csr", "-out", "expired.pem", "-notext",
        "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
        "-extfile", "server.ext", "-extensions", "ext");
    key("extra");
    openssl("req", "-new", "-x509", "-key", "extra.key", "-out", "extra.pem", "-days", "30",
        "-subj", "/CN=Java Test Unrelated Extra");

    String inter = read("inter.pem");
    for (String leaf : List.of("leaf", "expired", "revoked", "client")) {
      write(leaf + ".chain.pem", read(leaf + ".pem") + inter);
      write(leaf + ".served.pem", inter + read("extra.pem"));
      openssl("pkcs12", "-export", "-in", leaf + ".chain.pem", "-inkey", leaf + ".key",
          "-out", leaf + ".p12", "-passout", "pass:" + P12_PASSWORD);
    }

    // OCSP responses for the stapling servers (RFC 6960), signed by the issuer itself.
    write("ocsp-index.txt", "V\t300101000000Z\t\t03\tunknown\t/CN=localhost\n"
        + "R\t300101000000Z\t250101000000Z,keyCompromise\t04\tunknown\t/CN=revoked.localhost\n");
    for (String leaf : List.of("leaf", "revoked")) {
      openssl("ocsp", "-issuer", "inter.pem", "-cert", leaf + ".pem", "-no_nonce",
          "-reqout", leaf + ".ocspreq.der");
      openssl("ocsp", "-index", "ocsp-index.txt", "-rsigner", "inter.pem", "-rkey", "inter.key",
          "-CA", "inter.pem", "-reqin", leaf + ".ocspreq.der", "-respout", leaf + ".ocsp.der",
          "-ndays", "1");
    }
  }

  private void key(String name) throws IOException, InterruptedException {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", name + ".key");
  }

  private void issue(String name, String subject, String issuer, String ext, String serial)
      throws IOException, InterruptedException {
    key(name);
    openssl("req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", subject);
    openssl("x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem", "-CAkey",
        issuer + ".key", "-set_serial", serial, "-days", "30", "-extfile", ext,
        "-extensions", "ext", "-out", name + ".pem");
  }

  private void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(Arrays.asList(args));
    Path log = dir.resolve("openssl.log");
    Process p = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("openssl timed out: " + cmd);
    }
    if (p.exitValue() != 0) {
      throw new IOException("failed (" + p.exitValue() + "): " + cmd + "\n" + read("openssl.log"));
    }
  }

  String read(String name) throws IOException {
    return Files.readString(dir.resolve(name), StandardCharsets.UTF_8);
  }

  byte[] der(String pemName) throws IOException {
    String pem = read(pemName);
    String body = pem.substring(pem.indexOf("-----BEGIN CERTIFICATE-----") + 27,
        pem.indexOf("-----END CERTIFICATE-----"));
    return java.util.Base64.getMimeDecoder().decode(body);
  }

  private void write(String name, String text) throws IOException {
    Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
  }
}
