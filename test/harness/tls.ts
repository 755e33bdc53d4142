// A throwaway self-signed certificate for 127.0.0.1, for tests that start a server with TLS, and the one HTTPS GET
// they make against it.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

export interface SelfSignedCert {
  /** The certificate in PEM: clients pass it as their CA. */
  ca: string;
  /** The server settings that use it. */
  env: { SIGHTLINE_TLS_CERT_FILE: string; SIGHTLINE_TLS_KEY_FILE: string };
  remove(): Promise<void>;
}

export async function selfSignedCert(label: string): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), `sightline-${label}-tls-`));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
  ]);
  return {
    ca: await readFile(cert, "utf8"),
    env: { SIGHTLINE_TLS_CERT_FILE: cert, SIGHTLINE_TLS_KEY_FILE: key },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface HttpsResponse {
  status: number;
  contentType: string;
  /** The HTTP version ALPN chose. */
  version: string;
  body: string;
}

/** GET `path` from 127.0.0.1:`port` over HTTPS, trusting `ca`. */
export function httpsGet(port: number, path: string, ca: string): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port, path, ca, agent: false }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (chunk: string) => (body += chunk));
      r.once("end", () => resolve({ status: r.statusCode ?? 0, contentType: r.headers["content-type"] ?? "", version: r.httpVersion, body }));
    });
    req.once("error", reject);
    req.end();
  });
}
