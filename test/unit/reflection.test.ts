import { describe, it, expect } from "vitest";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import type { DescFile, MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
} from "@bufbuild/protobuf/wkt";
import { registerReflection } from "../../server/src/rpc/reflection.js";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  file_grpc_reflection_v1_reflection,
} from "../../server/src/gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionResponse } from "../../server/src/gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflection as ServerReflectionAlpha,
  file_grpc_reflection_v1alpha_reflection,
} from "../../server/src/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_grpc_health_v1_health } from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { file_sightline_v1_admin_service } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { file_sightline_v1_catalog_service } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";

const serverFiles: DescFile[] = [
  file_sightline_v1_admin_service,
  file_sightline_v1_catalog_service,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

type RequestInit = MessageInitShape<typeof ServerReflectionRequestSchema>;

function clientFor(files: DescFile[]) {
  const transport = createRouterTransport((router) => registerReflection(router, files));
  return createClient(ServerReflection, transport);
}

/** Sends all requests on one stream, as grpcurl does, and collects every answer. */
async function exchange(requests: RequestInit[], files: DescFile[] = serverFiles) {
  const client = clientFor(files);
  async function* input() {
    yield* requests.map((r) => create(ServerReflectionRequestSchema, r));
  }
  const out: ServerReflectionResponse[] = [];
  for await (const res of client.serverReflectionInfo(input())) out.push(res);
  return out;
}

async function ask(request: RequestInit, files?: DescFile[]) {
  const [res] = await exchange([request], files);
  if (res === undefined) throw new Error("no response");
  return res;
}

function fileNames(res: ServerReflectionResponse): string[] {
  if (res.messageResponse.case !== "fileDescriptorResponse") {
    throw new Error(`expected files, got ${String(res.messageResponse.case)}`);
  }
  return res.messageResponse.value.fileDescriptorProto.map(
    (bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name,
  );
}

function errorCode(res: ServerReflectionResponse): number | undefined {
  return res.messageResponse.case === "errorResponse" ? res.messageResponse.value.errorCode : undefined;
}

describe("server reflection", () => {
  it("lists the services of the given files, including health and reflection", async () => {
    const res = await ask({ messageRequest: { case: "listServices", value: "" } });
    expect(res.messageResponse.case).toBe("listServicesResponse");
    const names =
      res.messageResponse.case === "listServicesResponse"
        ? res.messageResponse.value.service.map((s) => s.name)
        : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "sightline.v1.AdminService",
        "sightline.v1.CatalogService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it("returns the service's file first, followed by its transitive imports once each", async () => {
    const res = await ask({
      messageRequest: { case: "fileContainingSymbol", value: "sightline.v1.CatalogService" },
    });
    const names = fileNames(res);
    expect(names[0]).toBe("sightline/v1/catalog_service.proto");
    expect(names).toContain("sightline/v1/resources.proto");
    expect(names).toContain("google/protobuf/timestamp.proto");
    expect(new Set(names).size).toBe(names.length);
  });

  it("resolves methods, messages, fields, enums and enum values, with or without a leading dot", async () => {
    const symbols = [
      "sightline.v1.AdminService.CreateProject",
      ".sightline.v1.Project",
      "sightline.v1.Project.name",
      "sightline.v1.FieldKind",
      "sightline.v1.FIELD_KIND_FEATURE",
      "google.protobuf.Timestamp",
    ];
    const responses = await exchange(
      symbols.map((value) => ({ messageRequest: { case: "fileContainingSymbol", value } })),
    );
    expect(responses.map((r) => fileNames(r)[0])).toEqual([
      "sightline/v1/admin_service.proto",
      "sightline/v1/resources.proto",
      "sightline/v1/resources.proto",
      "sightline/v1/resources.proto",
      "sightline/v1/resources.proto",
      "google/protobuf/timestamp.proto",
    ]);
  });

  it("serves files by name, including imported ones", async () => {
    const res = await ask({
      messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
    });
    expect(fileNames(res)).toEqual(["google/protobuf/timestamp.proto"]);
  });

  it("answers unknown symbols and files with NOT_FOUND and keeps the stream open", async () => {
    const requests: RequestInit[] = [
      { host: "h", messageRequest: { case: "fileContainingSymbol", value: "no.such.Symbol" } },
      { messageRequest: { case: "fileByFilename", value: "missing.proto" } },
      { messageRequest: { case: "listServices", value: "*" } },
    ];
    const [symbol, file, list] = await exchange(requests);
    expect(symbol && errorCode(symbol)).toBe(5);
    expect(symbol?.validHost).toBe("h");
    expect(symbol?.originalRequest?.messageRequest).toEqual({
      case: "fileContainingSymbol",
      value: "no.such.Symbol",
    });
    expect(file && errorCode(file)).toBe(5);
    expect(list?.messageResponse.case).toBe("listServicesResponse");
  });

  it("reports extensions: NOT_FOUND for unknown ones, empty list for types without any", async () => {
    const [ext, numbers, unknownType] = await exchange([
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "sightline.v1.Project", extensionNumber: 100 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "sightline.v1.Project" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "no.such.Type" } },
    ]);
    expect(ext && errorCode(ext)).toBe(5);
    expect(numbers?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "sightline.v1.Project", extensionNumber: [] },
    });
    expect(unknownType && errorCode(unknownType)).toBe(5);
  });

  it("finds declared extensions", async () => {
    const proto = create(FileDescriptorProtoSchema, {
      name: "test/ext.proto",
      package: "test",
      syntax: "proto3",
      dependency: ["google/protobuf/descriptor.proto"],
      extension: [
        {
          name: "tag",
          number: 50001,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.STRING,
          extendee: ".google.protobuf.MessageOptions",
        },
      ],
    });
    const registry = createFileRegistry(proto, (name) =>
      name === file_google_protobuf_descriptor.proto.name ? file_google_protobuf_descriptor : undefined,
    );
    const extFile = registry.getFile("test/ext.proto");
    expect(extFile).toBeDefined();
    if (extFile === undefined) return;

    const [byExt, numbers, bySymbol] = await exchange(
      [
        {
          messageRequest: {
            case: "fileContainingExtension",
            value: { containingType: "google.protobuf.MessageOptions", extensionNumber: 50001 },
          },
        },
        { messageRequest: { case: "allExtensionNumbersOfType", value: ".google.protobuf.MessageOptions" } },
        { messageRequest: { case: "fileContainingSymbol", value: "test.tag" } },
      ],
      [extFile],
    );
    expect(byExt && fileNames(byExt)).toEqual(["test/ext.proto", "google/protobuf/descriptor.proto"]);
    expect(numbers?.messageResponse).toMatchObject({
      value: { baseTypeName: "google.protobuf.MessageOptions", extensionNumber: [50001] },
    });
    expect(bySymbol && fileNames(bySymbol)[0]).toBe("test/ext.proto");
  });

  it("serves the same answers over v1alpha", async () => {
    const transport = createRouterTransport((router) => registerReflection(router, serverFiles));
    const client = createClient(ServerReflectionAlpha, transport);
    async function* input() {
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "sightline.v1.CatalogService" } };
      yield { messageRequest: { case: "fileContainingSymbol" as const, value: "nope" } };
    }
    const out = [];
    for await (const res of client.serverReflectionInfo(input())) out.push(res);
    expect(out).toHaveLength(2);
    expect(out[0]?.$typeName).toBe("grpc.reflection.v1alpha.ServerReflectionResponse");
    expect(out[0]?.messageResponse.case).toBe("fileDescriptorResponse");
    expect(out[1]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});
