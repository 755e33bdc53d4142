// Every project the key reaches (a project key reaches its own) and their collections.
import type { Project } from "../../../../clients/ts/src/gen/sightline/v1/resources_pb.js";
import { h, section, table } from "../dom.js";
import { dateTime } from "../format.js";
import type { PageContext } from "../main.js";
import { href } from "../router.js";
import { errorBox } from "./common.js";

async function allProjects(ctx: PageContext): Promise<Project[]> {
  const out: Project[] = [];
  let pageToken = "";
  do {
    const res = await ctx.api.admin.listProjects({ pageSize: 1000, pageToken }, { signal: ctx.signal });
    out.push(...res.projects);
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
  return out;
}

async function projectCard(ctx: PageContext, project: Project): Promise<HTMLElement> {
  const card = section(project.displayName === "" ? project.name : `${project.displayName} (${project.name})`);
  card.setAttribute("data-project", project.name);
  try {
    const { collections } = await ctx.api.catalog.listDataCollections({ project: project.name, pageSize: 1000 }, { signal: ctx.signal });
    if (collections.length === 0) card.append(h("p", { className: "muted" }, "No collections yet."));
    else
      card.append(
        table(
          ["collection", "fields", "baseline split", "created"],
          collections.map((c) => [
            h("a", { href: href({ page: "collection", project: project.name, collection: c.name }), "data-collection": c.name }, c.displayName || c.name),
            String(c.schema?.fields.length ?? 0),
            c.baselineSplit || "–",
            dateTime(c.createTime),
          ]),
        ),
      );
  } catch (err) {
    card.append(errorBox(err));
  }
  return card;
}

export async function renderProjects(ctx: PageContext): Promise<void> {
  ctx.root.append(h("h1", {}, "Projects"));
  let projects: Project[];
  try {
    projects = await allProjects(ctx);
  } catch (err) {
    ctx.root.append(errorBox(err));
    return;
  }
  if (projects.length === 0) ctx.root.append(h("p", { className: "muted" }, "This key reaches no project."));
  for (const card of await Promise.all(projects.map((p) => projectCard(ctx, p)))) ctx.root.append(card);
}
