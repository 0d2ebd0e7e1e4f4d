import type { Metadata } from "next";
import { cookies, draftMode } from "next/headers";
import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { PREVIEW_COOKIE } from "@/lib/api";
import "./globals.css";

// No favicon file: an empty icon, so that browsers do not ask for /favicon.ico (a 404).
export const metadata: Metadata = { title: "Clinic articles", icons: { icon: "data:," } };

/** Leaves draft mode: drops Next's bypass cookie and the preview token. */
async function exitDraftMode(): Promise<void> {
  "use server";
  (await draftMode()).disable();
  (await cookies()).delete(PREVIEW_COOKIE);
  redirect("/");
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // draftMode() does not make the static pages dynamic: at build time it is simply off.
  const { isEnabled: draft } = await draftMode();
  return (
    <html lang="en">
      <body>
        {draft ? (
          <div className="draft-banner" id="draft-banner" role="status">
            Draft mode: you may be seeing unpublished content.
            <form action={exitDraftMode}>
              <button type="submit">Exit draft mode</button>
            </form>
          </div>
        ) : null}
        <header className="site">
          <a href="/">Clinic articles</a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
