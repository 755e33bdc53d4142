// A command's connection: the client for the resolved settings, and the project it works in.
import { createSightlineClient, type SightlineClient } from "../index.js";
import { resolveSettings } from "./config.js";
import { CliError } from "./failure.js";

export interface GlobalOptions {
  project?: string;
  json?: boolean;
}

export interface Session {
  client: SightlineClient;
  /** The project named by --project, SIGHTLINE_PROJECT or the config, else the only one the key can see. */
  project(): Promise<string>;
}

export async function openSession(options: GlobalOptions): Promise<Session> {
  const settings = await resolveSettings(options.project);
  const client = createSightlineClient({ url: settings.url, apiKey: settings.key });
  let project: Promise<string> | undefined;
  return {
    client,
    project() {
      // A project key sees exactly its own project, so most users never name it.
      project ??=
        settings.project !== undefined
          ? Promise.resolve(settings.project)
          : client.admin.listProjects({ pageSize: 2 }).then(({ projects }) => {
              if (projects.length === 1) return projects[0]!.name;
              throw new CliError(
                projects.length === 0 ? "this key sees no project; create one with `sightline projects create NAME`" : "this key sees several projects: pass --project NAME (or set SIGHTLINE_PROJECT)",
              );
            });
      return project;
    },
  };
}
