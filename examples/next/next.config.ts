import type { NextConfig } from "next";

const config: NextConfig = {
  poweredByHeader: false,
  // This folder is its own npm project inside the repository (which has a lockfile of its own):
  // tell Turbopack so, rather than let it take the repository's root for the workspace.
  turbopack: { root: __dirname },
  images: {
    // The hero image is served by the API's own renditions (lib/hero-image.tsx picks one per
    // width with a custom loader), so Next's image optimizer never fetches anything. These are
    // the widths the API renders (480, 960, 1600), so each srcset entry names a real file.
    deviceSizes: [480, 960, 1600],
  },
};

export default config;
