import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { authorizeProject } from "../auth/principal.js";
import { checkModel } from "../catalog/model.js";
import { checkResourceNames, checkStoredText } from "../catalog/names.js";
import { parsePageRequest } from "../catalog/paging.js";
import { checkSchema } from "../catalog/schema.js";
import { invalidArgument, throwIfInvalid } from "../errors.js";
import {
  CatalogService,
  CreateDataCollectionResponseSchema,
  CreateModelResponseSchema,
  CreateSplitResponseSchema,
  DeleteDataCollectionResponseSchema,
  DeleteModelResponseSchema,
  DeleteSplitResponseSchema,
  GetCollectionStatsResponseSchema,
  GetDataCollectionResponseSchema,
  GetModelResponseSchema,
  GetSplitResponseSchema,
  ListDataCollectionsResponseSchema,
  ListModelsResponseSchema,
  ListSplitsResponseSchema,
  SealSplitResponseSchema,
  SetBaselineSplitResponseSchema,
  UpdateSchemaResponseSchema,
} from "../gen/sightline/v1/catalog_service_pb.js";
import { SplitType } from "../gen/sightline/v1/resources_pb.js";
import { getCollectionStats } from "../store/collection-stats.js";
import {
  createCollection,
  deleteCollection,
  findCollection,
  getCollection,
  listCollections,
  schemaOf,
  updateSchema,
} from "../store/collections.js";
import { createModel, deleteModel, getModel, listModels } from "../store/models.js";
import { requireProject } from "../store/projects.js";
import { createSplit, deleteSplit, getSplit, listSplits, sealSplit, setBaselineSplit } from "../store/splits.js";
import type { RpcDeps } from "./deps.js";

/** A request that names a resource inside a collection. */
interface ChildRef {
  project: string;
  collection: string;
  name: string;
}

function checkChildRef(ref: ChildRef): void {
  throwIfInvalid(checkResourceNames({ project: ref.project, collection: ref.collection, name: ref.name }));
}

export function registerCatalog(router: ConnectRouter, { store, queues, config }: RpcDeps): void {
  const schemaLimits = config.schema;
  router.service(CatalogService, {
    async createDataCollection(req, ctx) {
      const collection = req.collection;
      if (collection === undefined) throw invalidArgument([{ field: "collection", description: "is required" }]);
      authorizeProject(ctx, collection.project);
      throwIfInvalid([
        ...checkResourceNames({ "collection.project": collection.project, "collection.name": collection.name }),
        ...checkStoredText("collection.display_name", collection.displayName),
        ...checkSchema("collection.schema", collection.schema, schemaLimits),
      ]);
      await requireProject(store, collection.project);
      // checkSchema has refused an absent schema above.
      const created = await createCollection(store, collection, collection.schema!);
      await queues.requestCollectionStats(created.project, created.name);
      return create(CreateDataCollectionResponseSchema, { collection: created });
    },
    async getDataCollection(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(checkResourceNames({ project: req.project, name: req.name }));
      return create(GetDataCollectionResponseSchema, { collection: await getCollection(store, req.project, req.name) });
    },
    async listDataCollections(req, ctx) {
      authorizeProject(ctx, req.project);
      const { page, violations } = parsePageRequest(`collections/${req.project}`, req.pageSize, req.pageToken);
      throwIfInvalid([...checkResourceNames({ project: req.project }), ...violations]);
      const result = await listCollections(store, req.project, page);
      return create(ListDataCollectionsResponseSchema, { collections: result.items, nextPageToken: result.nextPageToken });
    },
    async deleteDataCollection(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(checkResourceNames({ project: req.project, name: req.name }));
      await deleteCollection(store, req.project, req.name);
      return create(DeleteDataCollectionResponseSchema, {});
    },
    async updateSchema(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid([
        ...checkResourceNames({ project: req.project, collection: req.collection }),
        ...checkSchema("schema", req.schema, schemaLimits),
      ]);
      const collection = await updateSchema(store, req.project, req.collection, req.schema!, req.expectedSchemaVersion);
      await queues.requestCollectionStats(req.project, req.collection);
      return create(UpdateSchemaResponseSchema, { collection });
    },
    async getCollectionStats(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(checkResourceNames({ project: req.project, collection: req.collection }));
      await findCollection(store, req.project, req.collection);
      return create(GetCollectionStatsResponseSchema, { stats: await getCollectionStats(store, req.project, req.collection) });
    },

    async createSplit(req, ctx) {
      const split = req.split;
      if (split === undefined) throw invalidArgument([{ field: "split", description: "is required" }]);
      authorizeProject(ctx, split.project);
      const violations = checkResourceNames({
        "split.project": split.project,
        "split.collection": split.collection,
        "split.name": split.name,
      });
      if (split.type === SplitType.UNSPECIFIED || SplitType[split.type] === undefined) {
        violations.push({ field: "split.type", description: "must be TRAIN, TEST, VALIDATION, OUT_OF_TIME or CUSTOM" });
      }
      throwIfInvalid(violations);
      const created = await createSplit(store, split.project, split.collection, split.name, split.type, split.baseline);
      await queues.requestCollectionStats(split.project, split.collection);
      return create(CreateSplitResponseSchema, { split: created });
    },
    async getSplit(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      return create(GetSplitResponseSchema, { split: await getSplit(store, req.project, req.collection, req.name) });
    },
    async listSplits(req, ctx) {
      authorizeProject(ctx, req.project);
      const { page, violations } = parsePageRequest(`splits/${req.project}/${req.collection}`, req.pageSize, req.pageToken);
      throwIfInvalid([...checkResourceNames({ project: req.project, collection: req.collection }), ...violations]);
      const result = await listSplits(store, req.project, req.collection, page);
      return create(ListSplitsResponseSchema, { splits: result.items, nextPageToken: result.nextPageToken });
    },
    async deleteSplit(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      await deleteSplit(store, req.project, req.collection, req.name);
      await queues.requestCollectionStats(req.project, req.collection);
      return create(DeleteSplitResponseSchema, {});
    },
    async sealSplit(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      return create(SealSplitResponseSchema, { split: await sealSplit(store, req.project, req.collection, req.name) });
    },
    async setBaselineSplit(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      await findCollection(store, req.project, req.collection);
      return create(SetBaselineSplitResponseSchema, { split: await setBaselineSplit(store, req.project, req.collection, req.name) });
    },

    async createModel(req, ctx) {
      const model = req.model;
      if (model === undefined) throw invalidArgument([{ field: "model", description: "is required" }]);
      authorizeProject(ctx, model.project);
      throwIfInvalid(
        checkResourceNames({ "model.project": model.project, "model.collection": model.collection, "model.name": model.name }),
      );
      const parent = await findCollection(store, model.project, model.collection);
      throwIfInvalid(checkModel("model", model, schemaOf(parent)));
      const created = await createModel(store, model);
      await queues.requestCollectionStats(model.project, model.collection);
      return create(CreateModelResponseSchema, { model: created });
    },
    async getModel(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      return create(GetModelResponseSchema, { model: await getModel(store, req.project, req.collection, req.name) });
    },
    async listModels(req, ctx) {
      authorizeProject(ctx, req.project);
      const { page, violations } = parsePageRequest(`models/${req.project}/${req.collection}`, req.pageSize, req.pageToken);
      throwIfInvalid([...checkResourceNames({ project: req.project, collection: req.collection }), ...violations]);
      await findCollection(store, req.project, req.collection);
      const result = await listModels(store, req.project, req.collection, page);
      return create(ListModelsResponseSchema, { models: result.items, nextPageToken: result.nextPageToken });
    },
    async deleteModel(req, ctx) {
      authorizeProject(ctx, req.project);
      checkChildRef(req);
      await deleteModel(store, req.project, req.collection, req.name);
      await queues.requestCollectionStats(req.project, req.collection);
      return create(DeleteModelResponseSchema, {});
    },
  });
}
