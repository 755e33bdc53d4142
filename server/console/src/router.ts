// Hash routes, so every page is index.html to the server and a reload or a shared link lands on the same page.

export type Granularity = "hour" | "day";

export type Route =
  | { page: "login" }
  | { page: "projects" }
  | { page: "collection"; project: string; collection: string }
  | { page: "model"; project: string; collection: string; model: string; granularity: Granularity }
  | { page: "record"; project: string; collection: string; id: string }
  | { page: "jobs"; watch: string };

const enc = encodeURIComponent;

export function href(route: Route): string {
  switch (route.page) {
    case "login":
      return "#/login";
    case "projects":
      return "#/";
    case "collection":
      return `#/p/${enc(route.project)}/c/${enc(route.collection)}`;
    case "model":
      return `#/p/${enc(route.project)}/c/${enc(route.collection)}/m/${enc(route.model)}?g=${route.granularity}`;
    case "record":
      return `#/p/${enc(route.project)}/c/${enc(route.collection)}/records?id=${enc(route.id)}`;
    case "jobs":
      return route.watch === "" ? "#/jobs" : `#/jobs?watch=${enc(route.watch)}`;
  }
}

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const path = (q === -1 ? raw : raw.slice(0, q)).split("/").filter((p) => p !== "");
  const params = new URLSearchParams(q === -1 ? "" : raw.slice(q + 1));
  const parts = path.map(decode);
  if (parts.some((p) => p === undefined)) return { page: "projects" };
  const [a, project, b, collection, c, model] = parts as string[];
  if (a === "login") return { page: "login" };
  if (a === "jobs") return { page: "jobs", watch: params.get("watch") ?? "" };
  if (a === "p" && b === "c" && project !== undefined && collection !== undefined) {
    if (c === undefined) return { page: "collection", project, collection };
    if (c === "m" && model !== undefined) return { page: "model", project, collection, model, granularity: params.get("g") === "day" ? "day" : "hour" };
    if (c === "records") return { page: "record", project, collection, id: params.get("id") ?? "" };
  }
  return { page: "projects" };
}
