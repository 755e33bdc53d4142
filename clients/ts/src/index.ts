// The TypeScript client: typed service clients over gRPC, gRPC-Web or the Connect protocol, with the API key sent
// on every call.
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AdminService } from "./gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "./gen/sightline/v1/catalog_service_pb.js";

export * from "./gen/sightline/v1/resources_pb.js";
export * from "./gen/sightline/v1/errors_pb.js";
export { AdminService, CatalogService };

export type Protocol = "grpc" | "grpc-web" | "connect";

export interface ClientOptions {
  /** For example `http://127.0.0.1:50051`, or `https://…` for TLS. */
  url: string;
  apiKey?: string;
  /** Default "grpc". */
  protocol?: Protocol;
  /** PEM of a CA to trust for TLS, beside the system's. */
  ca?: string | Buffer;
}

export interface SightlineClient {
  admin: Client<typeof AdminService>;
  catalog: Client<typeof CatalogService>;
  transport: Transport;
}

function apiKeyInterceptor(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

export function createTransport(options: ClientOptions): Transport {
  const interceptors = options.apiKey === undefined ? [] : [apiKeyInterceptor(options.apiKey)];
  const nodeOptions = options.ca === undefined ? {} : { ca: options.ca };
  const common = { baseUrl: options.url, interceptors, nodeOptions };
  switch (options.protocol ?? "grpc") {
    case "grpc":
      return createGrpcTransport(common);
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "2" });
    case "connect":
      return createConnectTransport({ ...common, httpVersion: "2" });
  }
}

export function createSightlineClient(options: ClientOptions): SightlineClient {
  const transport = createTransport(options);
  return { admin: createClient(AdminService, transport), catalog: createClient(CatalogService, transport), transport };
}
