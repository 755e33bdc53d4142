import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { authorizeAdmin, authorizeProject, boundProject } from "../auth/principal.js";
import { checkResourceName, checkStoredText } from "../catalog/names.js";
import { parsePageRequest } from "../catalog/paging.js";
import { invalidArgument, throwIfInvalid } from "../errors.js";
import {
  AdminService,
  CreateApiKeyResponseSchema,
  CreateProjectResponseSchema,
  DeleteProjectResponseSchema,
  GetProjectResponseSchema,
  ListApiKeysResponseSchema,
  ListProjectsResponseSchema,
  RevokeApiKeyResponseSchema,
} from "../gen/sightline/v1/admin_service_pb.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../store/api-keys.js";
import { createProject, deleteProject, getProject, listProjects, requireProject } from "../store/projects.js";
import type { RpcDeps } from "./deps.js";

const maxDisplayNameLength = 256;

function checkDisplayName(field: string, value: string) {
  return value.length > maxDisplayNameLength ? [{ field, description: `must be at most ${maxDisplayNameLength} characters` }] : checkStoredText(field, value);
}

export function registerAdmin(router: ConnectRouter, { store }: RpcDeps): void {
  router.service(AdminService, {
    async createProject(req, ctx) {
      authorizeAdmin(ctx);
      if (req.project === undefined) throw invalidArgument([{ field: "project", description: "is required" }]);
      throwIfInvalid([
        ...checkResourceName("project.name", req.project.name),
        ...checkDisplayName("project.display_name", req.project.displayName),
      ]);
      const project = await createProject(store, req.project.name, req.project.displayName);
      return create(CreateProjectResponseSchema, { project });
    },
    async getProject(req, ctx) {
      authorizeProject(ctx, req.name);
      throwIfInvalid(checkResourceName("name", req.name));
      return create(GetProjectResponseSchema, { project: await getProject(store, req.name) });
    },
    async listProjects(req, ctx) {
      const { page, violations } = parsePageRequest("projects", req.pageSize, req.pageToken);
      throwIfInvalid(violations);
      // A project key lists only its own project, so the same call works for both kinds of key.
      const result = await listProjects(store, page, boundProject(ctx));
      return create(ListProjectsResponseSchema, { projects: result.items, nextPageToken: result.nextPageToken });
    },
    async deleteProject(req, ctx) {
      authorizeAdmin(ctx);
      throwIfInvalid(checkResourceName("name", req.name));
      await deleteProject(store, req.name);
      return create(DeleteProjectResponseSchema, {});
    },
    async createApiKey(req, ctx) {
      authorizeAdmin(ctx);
      throwIfInvalid([...checkResourceName("project", req.project), ...checkDisplayName("display_name", req.displayName)]);
      await requireProject(store, req.project);
      const { apiKey, secret } = await createApiKey(store, req.project, req.displayName);
      return create(CreateApiKeyResponseSchema, { apiKey, secret });
    },
    async listApiKeys(req, ctx) {
      authorizeAdmin(ctx);
      const { page, violations } = parsePageRequest(`keys/${req.project}`, req.pageSize, req.pageToken);
      throwIfInvalid([...checkResourceName("project", req.project), ...violations]);
      await requireProject(store, req.project);
      const result = await listApiKeys(store, req.project, page);
      return create(ListApiKeysResponseSchema, { apiKeys: result.items, nextPageToken: result.nextPageToken });
    },
    async revokeApiKey(req, ctx) {
      authorizeAdmin(ctx);
      throwIfInvalid(checkResourceName("project", req.project));
      if (req.id === "") throw invalidArgument([{ field: "id", description: "is required" }]);
      throwIfInvalid(checkStoredText("id", req.id));
      return create(RevokeApiKeyResponseSchema, { apiKey: await revokeApiKey(store, req.project, req.id) });
    },
  });
}
