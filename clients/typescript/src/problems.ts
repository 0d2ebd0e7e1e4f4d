// The API's errors are RFC 9457 problems; the helpers throw them as one error type.
import type { components } from "./schema.js";

export type Problem = components["schemas"]["Problem"];

/** The API answered a problem (4xx/5xx) where data was expected. */
export class ProblemError extends Error {
  readonly problem: Problem | undefined;

  constructor(problem: unknown) {
    const known = isProblem(problem) ? problem : undefined;
    super(known ? `${known.status} ${known.code}: ${known.detail ?? known.title}` : "no answer");
    this.name = "ProblemError";
    this.problem = known;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && "status" in value && "code" in value;
}
