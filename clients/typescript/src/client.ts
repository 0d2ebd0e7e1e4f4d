// The typed client: openapi-fetch over the types openapi-typescript generates from
// openapi.json into ./schema.ts (make clients).
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

export type ClinicClient = ReturnType<typeof createClient<paths>>;

/** A client for the API at `baseUrl` (e.g. "https://api.clinic.example"). */
export function createClinicClient(baseUrl: string, init: { fetch?: typeof fetch } = {}): ClinicClient {
  return createClient<paths>({ baseUrl, ...init });
}
