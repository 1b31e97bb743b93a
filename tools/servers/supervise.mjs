// Test-only launcher: runs a Node server script in this process and exits when standard input closes.
//
//   node tools/servers/supervise.mjs <script.js|.mjs> [args...]
//
// Test fixtures start every server through this file with standard input as a pipe. When the test
// process dies without stopping its servers (killed, crashed, timed out), the pipe closes and the
// server goes with it instead of living on as an orphan that holds a port and a temp folder.
// SIGTERM and SIGINT are left to the server script itself (Azurite and smtp-sink close gracefully;
// s3rver has no handler, so Node's default ends the process).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node supervise.mjs <script> [args...]');
  process.exit(2);
}

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// Reading stdin must not by itself keep the process alive: Azurite, on SIGTERM, closes its server and expects the
// process to end once nothing else is pending.
process.stdin.unref?.();

const scriptPath = resolve(script);
// The server scripts read process.argv as if they had been started directly.
process.argv = [process.argv[0], scriptPath, ...args];
await import(pathToFileURL(scriptPath).href);
