// What the console remembers: the API key for this tab only (sessionStorage, gone when the tab closes, never sent
// anywhere but this origin's API), and the jobs started from it, so the jobs page can follow them.

const keyItem = "sightline.apiKey";
const jobsItem = "sightline.jobs";

export function apiKey(): string | undefined {
  return sessionStorage.getItem(keyItem) ?? undefined;
}

export function setApiKey(key: string): void {
  sessionStorage.setItem(keyItem, key);
}

export function clearSession(): void {
  sessionStorage.removeItem(keyItem);
  sessionStorage.removeItem(jobsItem);
}

export interface SessionJob {
  id: string;
  /** What started it, for example "refresh monitoring of loans/clf". */
  label: string;
  startedMs: number;
}

export function sessionJobs(): SessionJob[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(jobsItem) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isSessionJob) : [];
  } catch {
    return [];
  }
}

function isSessionJob(value: unknown): value is SessionJob {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.label === "string" && typeof v.startedMs === "number";
}

export function rememberJob(job: SessionJob): void {
  const jobs = sessionJobs().filter((j) => j.id !== job.id);
  // Newest first, and only the last few: this is a convenience, not a job history.
  sessionStorage.setItem(jobsItem, JSON.stringify([job, ...jobs].slice(0, 20)));
}
