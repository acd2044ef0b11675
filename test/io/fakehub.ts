// A stand-in for the Hugging Face hub on 127.0.0.1, serving model folders the way the hub's
// endpoints do, for the download tests (nothing here ever leaves loopback):
//   GET /api/models/ORG/NAME/revision/REV   JSON { sha, siblings: [{ rfilename }] }
//   GET /ORG/NAME/resolve/REV/PATH          the file: ETag (git blob sha1), X-Repo-Commit,
//                                           Content-Length, Accept-Ranges, Range -> 206
//   .safetensors files are "LFS": resolve answers 302 to /cdn/<sha256> with X-Linked-Etag /
//   X-Linked-Size, and the CDN serves the bytes with ETag = sha256.
// Errors carry the hub's X-Error-Code (RepoNotFound 401, RevisionNotFound / EntryNotFound 404).
// `cutOnce` makes the next full transfer of a file stop after N bytes (an interrupted download).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface FakeRepo { dir: string; commit: string; branches?: string[]; token?: string }

export interface FakeHub {
  url: string;
  requests: { path: string; range: string | undefined }[];
  cutOnce: Map<string, number>;  // repo-relative path -> bytes sent before the connection drops
  close(): Promise<void>;
}

interface FileEntry { rel: string; full: string; size: number; sha1: string; sha256: string; lfs: boolean }

function files(dir: string): FileEntry[] {
  const out: FileEntry[] = [];
  const walk = (d: string, pre: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) { walk(full, `${pre}${e.name}/`); continue; }
      const data = fs.readFileSync(full);
      out.push({
        rel: pre + e.name, full, size: data.length, lfs: e.name.endsWith('.safetensors'),
        sha1: createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex'),
        sha256: createHash('sha256').update(data).digest('hex'),
      });
    }
  };
  walk(dir, '');
  return out;
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const listed = new Map(Object.entries(repos).map(([id, r]) => [id, { ...r, files: files(r.dir) }]));
  const hub: FakeHub = { url: '', requests: [], cutOnce: new Map(), close: async () => {} };
  const fail = (res: http.ServerResponse, status: number, code: string) => {
    res.writeHead(status, { 'X-Error-Code': code, 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: code }));
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const range = req.headers.range;
    hub.requests.push({ path: url.pathname, range });
    const m = /^\/(?:api\/models\/)?([^/]+\/[^/]+)\/(revision|resolve)\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    const cdn = /^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/.exec(url.pathname);
    const repo = listed.get(decodeURIComponent((m ?? cdn)?.[1] ?? ''));
    if (!repo || (repo.token && req.headers.authorization !== `Bearer ${repo.token}`)) return fail(res, 401, 'RepoNotFound');
    if (cdn) {
      const same = repo.files.filter((x) => x.sha256 === cdn[2]); // several paths may share a blob
      const f = same.find((x) => hub.cutOnce.has(x.rel)) ?? same[0];
      return f ? send(res, f, range, { ETag: `"${f.sha256}"` }, hub) : fail(res, 404, 'EntryNotFound');
    }
    const rev = decodeURIComponent(m![3]);
    if (rev !== repo.commit && !(repo.branches ?? ['main']).includes(rev)) return fail(res, 404, 'RevisionNotFound');
    if (m![2] === 'revision') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({
        _id: 'fake', id: m![1], sha: repo.commit, private: false, gated: false, downloads: 0, likes: 0,
        lastModified: '2024-01-01T00:00:00.000Z', siblings: repo.files.map((f) => ({ rfilename: f.rel })),
      }));
    }
    const f = repo.files.find((x) => x.rel === m![4]);
    if (!f) return fail(res, 404, 'EntryNotFound');
    const common = { 'X-Repo-Commit': repo.commit };
    if (f.lfs) {
      res.writeHead(302, { ...common, Location: `/cdn/${m![1]}/${f.sha256}`, 'X-Linked-Etag': `"${f.sha256}"`, 'X-Linked-Size': String(f.size), ETag: `"${f.sha1}"` });
      return res.end();
    }
    send(res, f, range, { ...common, ETag: `"${f.sha1}"` }, hub);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return hub;
}

function send(res: http.ServerResponse, f: FileEntry, range: string | undefined, headers: Record<string, string>, hub: FakeHub): void {
  let start = 0, end = f.size - 1;
  const r = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
  if (r) {
    start = Number(r[1]);
    end = r[2] ? Math.min(Number(r[2]), f.size - 1) : f.size - 1;
  }
  const len = end - start + 1;
  res.writeHead(r ? 206 : 200, {
    ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(len), 'Content-Type': 'application/octet-stream',
    ...(r ? { 'Content-Range': `bytes ${start}-${end}/${f.size}` } : {}),
  });
  const data = fs.readFileSync(f.full).subarray(start, end + 1);
  const cut = len > 1 ? hub.cutOnce.get(f.rel) : undefined;
  if (cut !== undefined) {
    hub.cutOnce.delete(f.rel);
    // Send part of the body, then drop the connection mid-transfer.
    res.write(data.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(data);
}
