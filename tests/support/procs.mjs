// Child processes for the node-driven tests (browser, Rust binding): each program's stdout and
// stderr go to OUT/<name>.log; every child is stopped at the end, and killed with the test
// process whatever way it ends.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP port free on 127.0.0.1 now.
export const freePort = () => new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); });
});

// Polls fn every 100 ms until it returns something true (returned), or fails after ms with
// what and the last error fn threw.
export async function eventually(what, fn, ms = 15000) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms} ms${last ? ` (${last.message})` : ''}`);
}

// The value after --name on the command line (required).
export function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
}

export class Procs {
  constructor(out) {
    this.out = out;
    this.children = [];
    process.on('exit', () => this.kill());
  }

  // Starts bin; its output goes to OUT/name.log (appended), unless stdio is given.
  start(name, bin, args, env = {}, stdio = null) {
    const log = stdio ? null : fs.openSync(path.join(this.out, `${name}.log`), 'a');
    const child = spawn(bin, args, { env: { ...process.env, ...env },
      stdio: stdio || ['ignore', log, log] });
    this.children.push(child);
    return child;
  }

  // Waits for a ready file the program writes (its URL), or fails when it exits first.
  async readyFile(file, child, what) {
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}); see ${this.out}`);
      if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
      await sleep(50);
    }
    throw new Error(`${what} did not start within 15 s; see ${this.out}`);
  }

  kill() {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  // SIGTERM, up to 5 s to finish (a sanitizer build checks for leaks as it exits, and a
  // report cut short by SIGKILL says nothing), then SIGKILL for what is left.
  async stop() {
    const live = (c) => c.exitCode === null && c.signalCode === null;
    for (const c of this.children) if (live(c)) c.kill('SIGTERM');
    for (let i = 0; i < 100 && this.children.some(live); i++) await sleep(50);
    this.kill();
  }
}
