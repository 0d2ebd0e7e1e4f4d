// The generated, typed client (clients/typescript, written by `make clients`) for the API whose
// origin VITE_API_BASE_URL names at build time.
import { createClinicClient, type Schemas } from "../../../clients/typescript/src/index";

export type { Schemas };

export const API_BASE_URL: string = import.meta.env.VITE_API_BASE_URL ?? "http://127.0.0.1:8000";

export const api = createClinicClient(API_BASE_URL);

/** What a failed call says, for a message on the page. */
export function describeProblem(problem: Schemas["Problem"] | undefined, fallback: string): string {
  if (!problem) return fallback;
  return problem.detail ?? problem.title ?? fallback;
}
