// Bundles assets/main.js (with htmx from npm) and assets/main.css into build/frontend/, builds the icon
// sprite (build/frontend/icons.svg) from the lucide-static icons named in icons.json, and copies the logo.
// Django collects build/ as a static directory; nothing third-party is committed.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import fs from "node:fs";
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

// The SDK that apps' framed pages load (marketplace UI extensions): its own small bundle, window.KestrelApp.
await build({
  entryPoints: { "app-sdk": path.join(here, "assets", "app-sdk.js") },
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "KestrelApp",
  target: ["es2020"],
  outdir,
  logLevel: "info",
});

await build({
  entryPoints: { app: path.join(here, "assets", "main.css") },
  bundle: true,
  minify: true,
  // A package's stylesheet through its `exports` "style" entry (`@import "frappe-gantt";`).
  conditions: ["style"],
  outdir,
  logLevel: "info",
});

// One <symbol> per icon: <svg><use href="icons.svg#truck"/></svg> draws it in the current text colour.
const iconDir = path.join(here, "node_modules", "lucide-static", "icons");
const { icons } = JSON.parse(fs.readFileSync(path.join(here, "icons.json"), "utf8"));
const symbols = icons.map((name) => {
  const source = fs.readFileSync(path.join(iconDir, `${name}.svg`), "utf8");
  const body = source.replace(/<!--[\s\S]*?-->/g, "").replace(/^[\s\S]*?<svg[^>]*>/, "").replace(/<\/svg>\s*$/, "");
  return `<symbol id="${name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${body.replace(/\s+/g, " ").trim()}</symbol>`;
});
const licence = "<!-- Icons: lucide-static (ISC licence, https://lucide.dev) -->";
const sprite =
  `<svg xmlns="http://www.w3.org/2000/svg" fill="none" stroke="currentColor" stroke-width="2" ` +
  `stroke-linecap="round" stroke-linejoin="round">${licence}${symbols.join("")}</svg>\n`;
fs.mkdirSync(outdir, { recursive: true });
fs.writeFileSync(path.join(outdir, "icons.svg"), sprite);
fs.copyFileSync(path.join(here, "assets", "logo.svg"), path.join(outdir, "logo.svg"));
console.log(`  build/frontend/icons.svg  ${icons.length} icons`);
