// `sightline projects …` and `sightline keys …`: the AdminService. Creating and deleting projects and managing keys
// need the admin key; a project key can list and get its own project.
import type { Command } from "commander";
import { ApiKeySchema, ProjectSchema, type ApiKey, type Project } from "../../index.js";
import { listAll, timeText } from "../listing.js";
import { messageJson, out, printFields, printJson, printTable } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act, requireYes } from "./action.js";

function printProject(p: Project, json: boolean | undefined): void {
  if (json === true) return printJson(messageJson(ProjectSchema, p));
  printFields([
    ["name", p.name],
    ["display name", p.displayName],
    ["created", timeText(p.createTime)],
  ]);
}

function keyRow(k: ApiKey): string[] {
  return [k.id, k.displayName, timeText(k.createTime), k.revokeTime === undefined ? "" : out.style.red(`revoked ${timeText(k.revokeTime)}`)];
}

export function registerAdmin(program: Command): void {
  const projects = program.command("projects").description("projects: the tenants that keys and collections belong to");
  projects
    .command("list")
    .description("list the projects this key can see")
    .action(
      act(async (o) => {
        const { client } = await openSession(o);
        const all = await listAll(async (pageToken) => {
          const r = await client.admin.listProjects({ pageSize: 1000, pageToken });
          return { items: r.projects, next: r.nextPageToken };
        });
        if (o.json === true) return printJson(all.map((p) => messageJson(ProjectSchema, p)));
        printTable(["name", "display name", "created"], all.map((p) => [p.name, p.displayName, timeText(p.createTime)]));
      }),
    );
  projects
    .command("get")
    .description("show one project")
    .argument("<name>")
    .action(
      act(async (name: string, o: GlobalOptions) => {
        const { client } = await openSession(o);
        printProject((await client.admin.getProject({ name })).project!, o.json);
      }),
    );
  projects
    .command("create")
    .description("create a project (admin key)")
    .argument("<name>", "lowercase letters, digits, '-' and '_', starting with a letter")
    .option("--display-name <text>", "a human-readable name", "")
    .action(
      act(async (name: string, o: GlobalOptions & { displayName: string }) => {
        const { client } = await openSession(o);
        printProject((await client.admin.createProject({ project: { name, displayName: o.displayName } })).project!, o.json);
      }),
    );
  projects
    .command("delete")
    .description("delete a project with its keys, collections, splits, models and records (admin key)")
    .argument("<name>")
    .option("--yes", "confirm the deletion")
    .action(
      act(async (name: string, o: GlobalOptions & { yes?: boolean }) => {
        requireYes(o, `project "${name}"`);
        const { client } = await openSession(o);
        await client.admin.deleteProject({ name });
        out.line(`deleted project ${name}`);
      }),
    );

  const keys = program.command("keys").description("API keys of a project (admin key)");
  keys
    .command("list")
    .description("list the project's keys")
    .action(
      act(async (o) => {
        const session = await openSession(o);
        const project = await session.project();
        const all = await listAll(async (pageToken) => {
          const r = await session.client.admin.listApiKeys({ project, pageSize: 1000, pageToken });
          return { items: r.apiKeys, next: r.nextPageToken };
        });
        if (o.json === true) return printJson(all.map((k) => messageJson(ApiKeySchema, k)));
        printTable(["id", "display name", "created", "revoked"], all.map(keyRow));
      }),
    );
  keys
    .command("create")
    .description("create a key for the project; its secret is shown only once")
    .option("--display-name <text>", "what the key is for", "")
    .action(
      act(async (o: GlobalOptions & { displayName: string }) => {
        const session = await openSession(o);
        const project = await session.project();
        const r = await session.client.admin.createApiKey({ project, displayName: o.displayName });
        if (o.json === true) return printJson({ apiKey: messageJson(ApiKeySchema, r.apiKey!), secret: r.secret });
        printFields([
          ["id", r.apiKey!.id],
          ["project", project],
          ["secret", r.secret],
        ]);
        out.line(out.style.yellow("The secret is shown only now; store it (for example with `sightline login --key`)."));
      }),
    );
  keys
    .command("revoke")
    .description("revoke a key; calls with it are refused from then on")
    .argument("<id>", "the key's id (its public prefix)")
    .action(
      act(async (id: string, o: GlobalOptions) => {
        const session = await openSession(o);
        const project = await session.project();
        const { apiKey } = await session.client.admin.revokeApiKey({ project, id });
        if (o.json === true) return printJson(messageJson(ApiKeySchema, apiKey!));
        out.line(`revoked key ${id} at ${timeText(apiKey!.revokeTime)}`);
      }),
    );
}
