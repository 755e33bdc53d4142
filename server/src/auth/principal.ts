// Who is calling, resolved once per call by the auth interceptor and read by handlers.
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { permissionDenied } from "../errors.js";

export type Principal = { kind: "admin" } | { kind: "project"; project: string } | { kind: "anonymous" };

export const principalKey = createContextKey<Principal>({ kind: "anonymous" });

/** Whether the caller's key reaches `project`: the admin key reaches all, a project key its own. */
export function mayReach(ctx: HandlerContext, project: string): boolean {
  const principal = ctx.values.get(principalKey);
  return principal.kind === "admin" || (principal.kind === "project" && principal.project === project);
}

/** Admits the admin key and the key of `project`; anything else is PERMISSION_DENIED. */
export function authorizeProject(ctx: HandlerContext, project: string): void {
  if (!mayReach(ctx, project)) throw permissionDenied(`this key cannot reach project "${project}"`);
}

export function authorizeAdmin(ctx: HandlerContext): void {
  if (ctx.values.get(principalKey).kind !== "admin") throw permissionDenied("this call needs the admin key");
}

/** The project a project key is bound to, or undefined for the admin key. */
export function boundProject(ctx: HandlerContext): string | undefined {
  const principal = ctx.values.get(principalKey);
  return principal.kind === "project" ? principal.project : undefined;
}
