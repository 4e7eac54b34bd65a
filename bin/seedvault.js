#!/usr/bin/env node
// The compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

// The AWS SDK warns on every run under Node 20 about its future minimum; not actionable here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const entry = new URL('../dist/src/client/cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('seedvault: not built yet; run `npm run build` in the seedvault folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
