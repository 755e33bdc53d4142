import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PageRequest } from "../catalog/paging.js";
import { alreadyExists, isDuplicateKey, notFound } from "../errors.js";
import { ProjectSchema, type Project } from "../gen/sightline/v1/resources_pb.js";
import { collectionTargetsPattern } from "../ingest/layout.js";
import { listPage, type Page, type ProjectDoc, type Store } from "./db.js";
import { deleteArtifacts } from "./artifacts.js";
import { deleteMonitoring } from "./monitoring-results.js";

function toProject(doc: ProjectDoc): Project {
  return create(ProjectSchema, { name: doc._id, displayName: doc.displayName, createTime: timestampFromDate(doc.createTime) });
}

export async function createProject(store: Store, name: string, displayName: string): Promise<Project> {
  const doc: ProjectDoc = { _id: name, displayName, createTime: new Date() };
  try {
    await store.projects.insertOne(doc);
  } catch (err) {
    if (isDuplicateKey(err)) throw alreadyExists("project", name);
    throw err;
  }
  return toProject(doc);
}

export async function getProject(store: Store, name: string): Promise<Project> {
  const doc = await store.projects.findOne({ _id: name });
  if (doc === null) throw notFound("project", name);
  return toProject(doc);
}

export async function listProjects(store: Store, page: PageRequest, only?: string): Promise<Page<Project>> {
  return listPage(store.projects, only === undefined ? {} : { _id: only }, page, toProject);
}

/** Removes the project and everything in it. Children go first, so a failure part-way never leaves orphans behind a live parent. */
export async function deleteProject(store: Store, name: string): Promise<void> {
  if ((await store.projects.countDocuments({ _id: name }, { limit: 1 })) === 0) throw notFound("project", name);
  for (const c of await store.collections.find({ project: name }, { projection: { name: 1 } }).toArray()) {
    await store.records.deleteMany({ ct: collectionTargetsPattern(name, c.name) });
    await store.bucketMarks.deleteMany({ ct: collectionTargetsPattern(name, c.name) });
  }
  await deleteMonitoring(store, name);
  await deleteArtifacts(store, name);
  await store.collectionStats.deleteMany({ project: name });
  await store.models.deleteMany({ project: name });
  await store.splits.deleteMany({ project: name });
  await store.collections.deleteMany({ project: name });
  await store.apiKeys.deleteMany({ project: name });
  await store.projects.deleteOne({ _id: name });
}

export async function requireProject(store: Store, name: string): Promise<void> {
  if ((await store.projects.countDocuments({ _id: name }, { limit: 1 })) === 0) throw notFound("project", name);
}
