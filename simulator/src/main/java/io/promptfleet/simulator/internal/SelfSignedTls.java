package io.promptfleet.simulator.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A self-signed server certificate for {@code localhost} and {@code 127.0.0.1} (plus the bound host when it is
 * another name or address), made with the JDK's own {@code keytool} so that neither a library nor internal JDK
 * classes are needed: a PKCS#12 key store for the server and the certificate as PEM for clients to trust. Valid for
 * 7 days; files live in a fresh temporary directory, removed by {@link #delete()}. Creating one blocks (runs
 * {@code keytool}, about half a second): call it off the event loop. Immutable.
 *
 * @param dir      the temporary directory
 * @param keyStore the PKCS#12 key store (key and certificate)
 * @param password the key store's password (random, per instance)
 * @param pemFile  the certificate in PEM
 */
public record SelfSignedTls(Path dir, Path keyStore, String password, Path pemFile) {

  /** Generates the certificate; {@code host} is the address the server binds. */
  public static SelfSignedTls generate(String host) throws IOException {
    Path dir = Files.createTempDirectory("promptfleet-sim-tls-");
    Path store = dir.resolve("simulator.p12");
    Path pem = dir.resolve("simulator-ca.pem");
    String password = UUID.randomUUID().toString();
    List<String> san = new ArrayList<>(List.of("dns:localhost", "ip:127.0.0.1"));
    if (!host.equals("127.0.0.1") && !host.equals("localhost") && !host.equals("0.0.0.0") && !host.contains(":")) {
      san.add((host.matches("[0-9.]+") ? "ip:" : "dns:") + host);
    }
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> command = List.of(keytool.toString(), "-genkeypair", "-noprompt", "-alias", "simulator",
        "-keyalg", "EC", "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA", "-validity", "7",
        "-dname", "CN=promptfleet simulator", "-ext", "SAN=" + String.join(",", san),
        "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", password, "-keypass", password);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output;
    try (InputStream in = process.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IOException("keytool could not generate the simulator's certificate: " + output.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      throw new IOException("interrupted while keytool generated the simulator's certificate", e);
    }
    try (InputStream in = Files.newInputStream(store)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, password.toCharArray());
      Certificate cert = ks.getCertificate("simulator");
      String base64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
          .encodeToString(cert.getEncoded());
      Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + base64 + "\n-----END CERTIFICATE-----\n",
          StandardCharsets.US_ASCII);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot read the certificate keytool generated: " + e.getMessage(), e);
    }
    return new SelfSignedTls(dir, store, password, pem);
  }

  /** Removes the files; best effort. */
  public void delete() {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory; nothing else to do
    }
  }

  @Override
  public String toString() {
    return "SelfSignedTls[" + pemFile + "]";
  }
}
