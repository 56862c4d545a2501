// Bundles assets/main.js (with htmx from npm) and assets/main.css into build/frontend/.
// Django collects build/ as a static directory; nothing third-party is committed.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, "build", "frontend");

await build({
  entryPoints: { app: path.join(here, "assets", "main.js") },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020"],
  outdir,
  logLevel: "info",
});

await build({
  entryPoints: { app: path.join(here, "assets", "main.css") },
  bundle: true,
  minify: true,
  outdir,
  logLevel: "info",
});
