// Change-feed sync (GET /v1/changes): what changed since a cursor, in commit order, and the
// cursor to keep. A 410 means the history was pruned past the cursor: sync everything again.
import type { ClinicClient } from "./client.js";
import { ProblemError } from "./problems.js";
import type { components } from "./schema.js";

export type Change = components["schemas"]["ChangePublic"];

/** The outcome of one sync: the entries to apply in order, and the cursor to keep; or
 * `resync` when the cursor is older than the history the server keeps. */
export type SyncResult =
  | { kind: "changes"; changes: Change[]; cursor: string }
  | { kind: "resync" };

/** Every entry after `since` (all pages: `meta.has_more` is followed), and the next cursor;
 * with nothing new the cursor is `since` itself. */
export async function changesSince(client: ClinicClient, since: string, limit = 100): Promise<SyncResult> {
  const changes: Change[] = [];
  let cursor = since;
  for (;;) {
    const { data, error, response } = await client.GET("/v1/changes", {
      params: { query: { since: cursor, limit } },
    });
    if (response.status === 410) return { kind: "resync" };
    if (!data) throw new ProblemError(error);
    changes.push(...data.data);
    cursor = data.meta.next_cursor;
    if (!data.meta.has_more) return { kind: "changes", changes, cursor };
  }
}
