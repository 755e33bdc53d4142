// `sightline login`: checks the URL and key against the server, then stores them for later commands.
import type { Command } from "commander";
import { createSightlineClient } from "../../index.js";
import { configPath, readConfig, writeConfig } from "../config.js";
import { out } from "../output.js";
import { act } from "./action.js";
import type { GlobalOptions } from "../session.js";

interface LoginOptions extends GlobalOptions {
  url: string;
  key: string;
  verify: boolean;
}

export function registerLogin(program: Command): void {
  program
    .command("login")
    .description(`store the server URL and API key in ${configPath().replace(process.env.HOME ?? "\u0000", "~")} (mode 0600)`)
    .requiredOption("--url <url>", "the server, for example http://127.0.0.1:50051 or https://sightline.example.com")
    .requiredOption("--key <key>", "an API key (a project key, or the admin key)")
    .option("--no-verify", "store without calling the server")
    .addHelpText("after", "\nSIGHTLINE_URL, SIGHTLINE_API_KEY and SIGHTLINE_PROJECT override the stored values; --project is stored too.")
    .action(
      act(async (o: LoginOptions) => {
        let seen = "";
        if (o.verify) {
          // Listing projects works for both kinds of key and proves the key is accepted.
          const { projects } = await createSightlineClient({ url: o.url, apiKey: o.key }).admin.listProjects({ pageSize: 2 });
          seen = projects.length === 1 ? `, project ${projects[0]!.name}` : `, ${projects.length === 0 ? "no" : "several"} projects visible`;
        }
        const previous = await readConfig();
        await writeConfig({ url: o.url, key: o.key, project: o.project ?? previous.project });
        out.line(`logged in to ${o.url}${seen}; settings in ${configPath()}`);
      }),
    );
}
