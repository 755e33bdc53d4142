/**
 * gRPC server reflection (v1 and the older v1alpha that many tools still
 * speak), so grpcurl, Postman and friends can discover our API without local
 * .proto files. Both versions share one implementation: their messages are
 * wire-identical and differ only in package name.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { toBinary } from "@bufbuild/protobuf";
import type { DescFile } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ServerReflection as ServerReflectionV1 } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The request shape common to both reflection versions. */
export interface ReflectionRequest {
  host: string;
  messageRequest:
    | {
        case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices";
        value: string;
      }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

/** The response shape common to both versions; Req keeps the caller's own request type for the echo. */
export interface ReflectionResponse<Req> {
  validHost: string;
  originalRequest: Req;
  messageResponse:
    | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
    | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
    | { case: "listServicesResponse"; value: { service: { name: string }[] } }
    | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };
}

type MessageResponse = ReflectionResponse<unknown>["messageResponse"];

// Status codes from the gRPC spec, carried inside error_response.
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

export function registerReflection(router: ConnectRouter, files: DescFile[]): void {
  const index = new ReflectionIndex(files);
  router.service(ServerReflectionV1, {
    serverReflectionInfo: (requests) => serveReflection(index, requests),
  });
  router.service(ServerReflectionV1Alpha, {
    serverReflectionInfo: (requests) => serveReflection(index, requests),
  });
}

/**
 * Answers each request in order. Lookup failures become error_response
 * messages instead of ending the stream, because clients such as grpcurl
 * keep one stream open for a whole session.
 */
export async function* serveReflection<Req extends ReflectionRequest>(
  index: ReflectionIndex,
  requests: AsyncIterable<Req>,
): AsyncGenerator<ReflectionResponse<Req>> {
  for await (const request of requests) {
    yield {
      validHost: request.host,
      originalRequest: request,
      messageResponse: answer(index, request.messageRequest),
    };
  }
}

function answer(
  index: ReflectionIndex,
  req: ReflectionRequest["messageRequest"],
): MessageResponse {
  switch (req.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.serviceNames().map((name) => ({ name })) },
      };
    case "fileByFilename":
      return fileResponse(index, index.fileByName(req.value), `file not found: ${req.value}`);
    case "fileContainingSymbol":
      return fileResponse(index, index.fileContainingSymbol(req.value), `symbol not found: ${req.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.value;
      return fileResponse(
        index,
        index.fileContainingExtension(containingType, extensionNumber),
        `extension ${extensionNumber} of ${containingType} not found`,
      );
    }
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(req.value);
      if (numbers === undefined) {
        return errorResponse(NOT_FOUND, `type not found: ${req.value}`);
      }
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: stripDot(req.value), extensionNumber: numbers },
      };
    }
    case undefined:
      return errorResponse(INVALID_ARGUMENT, "empty reflection request");
  }
}

function fileResponse(
  index: ReflectionIndex,
  file: DescFile | undefined,
  notFound: string,
): MessageResponse {
  return file === undefined
    ? errorResponse(NOT_FOUND, notFound)
    : { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.serializedClosure(file) } };
}

function errorResponse(errorCode: number, errorMessage: string): MessageResponse {
  return { case: "errorResponse", value: { errorCode, errorMessage } };
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

/**
 * Name lookups over the given files and everything they import. Built once at
 * registration; descriptors are immutable at runtime.
 */
export class ReflectionIndex {
  private readonly services: string[] = [];
  private readonly filesByName = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly messageTypes = new Set<string>();
  /** extendee type name -> extension number -> declaring file */
  private readonly extensions = new Map<string, Map<number, DescFile>>();
  private readonly encoded = new Map<DescFile, Uint8Array>();

  constructor(files: readonly DescFile[]) {
    for (const file of files) {
      for (const service of file.services) {
        if (!this.services.includes(service.typeName)) this.services.push(service.typeName);
      }
      this.addFile(file);
    }
    this.services.sort();
  }

  /** Services of the files given to the constructor (not of their imports). */
  serviceNames(): string[] {
    return [...this.services];
  }

  /** Lookup by path as written in import statements, e.g. "google/protobuf/timestamp.proto". */
  fileByName(name: string): DescFile | undefined {
    return this.filesByName.get(name);
  }

  /** Fully-qualified name of a service, method, message, field, oneof, enum, enum value or extension. */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(stripDot(symbol));
  }

  fileContainingExtension(extendee: string, extensionNumber: number): DescFile | undefined {
    return this.extensions.get(stripDot(extendee))?.get(extensionNumber);
  }

  /** undefined when the message type is unknown, [] when it merely has no extensions. */
  extensionNumbersOf(messageType: string): number[] | undefined {
    const name = stripDot(messageType);
    if (!this.messageTypes.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * The file followed by its transitive imports, each once, as serialized
   * FileDescriptorProtos. Sending the whole closure lets clients resolve every
   * referenced type from one response; the requested file comes first because
   * some clients (grpcurl among them) treat the first entry as the answer.
   */
  serializedClosure(file: DescFile): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile): void => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(this.encode(f));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }

  private encode(file: DescFile): Uint8Array {
    let bytes = this.encoded.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.encoded.set(file, bytes);
    }
    return bytes;
  }

  private addFile(file: DescFile): void {
    // DescFile.name drops the ".proto" suffix; clients ask by the real path.
    if (this.filesByName.has(file.proto.name)) return;
    this.filesByName.set(file.proto.name, file);
    file.dependencies.forEach((dep) => this.addFile(dep));

    const pkg = file.proto.package;
    const addSymbol = (name: string): void => {
      if (!this.symbols.has(name)) this.symbols.set(name, file);
    };
    for (const desc of nestedTypes(file)) {
      addSymbol(desc.typeName);
      switch (desc.kind) {
        case "message":
          this.messageTypes.add(desc.typeName);
          for (const member of desc.members) addSymbol(`${desc.typeName}.${member.name}`);
          break;
        case "enum": {
          // Enum values are siblings of their enum in protobuf scoping (C++ rules).
          const scope = desc.parent?.typeName ?? pkg;
          for (const value of desc.values) addSymbol(scope ? `${scope}.${value.name}` : value.name);
          break;
        }
        case "service":
          for (const method of desc.methods) addSymbol(`${desc.typeName}.${method.name}`);
          break;
        case "extension": {
          let byNumber = this.extensions.get(desc.extendee.typeName);
          if (byNumber === undefined) {
            byNumber = new Map();
            this.extensions.set(desc.extendee.typeName, byNumber);
          }
          if (!byNumber.has(desc.number)) byNumber.set(desc.number, file);
          break;
        }
      }
    }
  }
}
