// Prints what the browser code weighs: the SDK, and the widget with the SDK (its loader, its
// modules and its CSS), each minified with esbuild (bundled into one file) and gzipped (-9).
// Run by scripts/test-web; the numbers in docs/web.md come from here.

import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const WEB = new URL('../src/axp_chat_connector/web/', import.meta.url);

/** @param {string} entry a path under web/ @param {'js' | 'css'} kind @returns {Uint8Array} */
function minified(entry, kind) {
  const result = buildSync({
    entryPoints: [new URL(entry, WEB).pathname],
    bundle: kind === 'js',
    minify: true,
    format: kind === 'js' ? 'esm' : undefined,
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0].contents;
}

/** @param {Uint8Array[]} parts */
function sizes(parts) {
  const all = Buffer.concat(parts);
  return { min: all.length, gzip: gzipSync(all, { level: 9 }).length };
}

/** @param {number} bytes */
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

const sdk = sizes([minified('sdk/index.js', 'js')]);
const widgetJs = sizes([minified('widget/widget.js', 'js'), minified('widget/chat_widget.js', 'js')]);
const css = sizes([minified('widget/widget.css', 'css')]);
const unminified = readFileSync(new URL('widget/widget.css', WEB)).length;
console.log(`SDK                      ${kb(sdk.min)} min, ${kb(sdk.gzip)} gzip`);
console.log(`widget (with the SDK)    ${kb(widgetJs.min)} min, ${kb(widgetJs.gzip)} gzip`);
console.log(`widget.css               ${kb(css.min)} min, ${kb(css.gzip)} gzip (${kb(unminified)} as served)`);
