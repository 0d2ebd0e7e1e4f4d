// The typed client for the Clinic Content & Leads API: openapi-fetch over the types that
// openapi-typescript generates from openapi.json into ./schema.d.ts (make clients).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];
export type ClinicClient = ReturnType<typeof createClient<paths>>;

/** A client for the API at `baseUrl` (e.g. "https://api.clinic.example"). */
export function createClinicClient(baseUrl: string, init: { fetch?: typeof fetch } = {}): ClinicClient {
  return createClient<paths>({ baseUrl, ...init });
}
