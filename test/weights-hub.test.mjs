// Hugging Face folders and Hub downloads, against a local server that
// emulates the endpoints @huggingface/hub and the downloader call
// (/api/models/<repo>/revision/<rev>, /api/models/<repo>/tree/<commit>,
// /<repo>/resolve/<commit>/<file>, with LFS files redirected to a CDN path
// that honours Range). Never the internet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tg from 'tensorgraft';
import { rejection } from './helpers.mjs';
import { values } from './parity/gen.mjs';

const dir = mkdtempSync(join(tmpdir(), 'tg-hub-'));
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';

/** A small BERT-like model: its safetensors file is what the server hosts. */
function model() {
  const nn = tg.nn;
  return new nn.Sequential(new nn.Embedding(300, 64), new nn.LayerNorm(64), new nn.Linear(64, 64));
}

async function makeRepoFiles() {
  const m = model();
  const record = {};
  Object.entries(m.parameters()).forEach(([k, s], i) => (record[k] = tg.tensor(values(s.reduce((a, b) => a * b, 1), i + 1), s)));
  await m.loadStateDict(record);
  const st = join(dir, 'model.safetensors');
  await m.save(st);
  // Two shards and their index, for the sharded repository.
  const keys = Object.keys(record);
  const half = Math.ceil(keys.length / 2);
  const shard = async (name, ks) => {
    await tg.weights.writeSafetensors(join(dir, name), Object.fromEntries(ks.map((k) => [k, record[k]])), { format: 'pt' });
    return readFileSync(join(dir, name));
  };
  const s1 = await shard('model-00001-of-00002.safetensors', keys.slice(0, half));
  const s2 = await shard('model-00002-of-00002.safetensors', keys.slice(half));
  const index = { metadata: {}, weight_map: Object.fromEntries(keys.map((k, i) => [k, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'])) };
  const config = Buffer.from(JSON.stringify({ model_type: 'tiny', hidden_size: 64 }));
  return {
    record,
    files: {
      'config.json': { data: config },
      'model.safetensors': { data: readFileSync(st), lfs: true },
      'pytorch_model.bin': { data: Buffer.from('not fetched by default'), lfs: true },
      'tokenizer.json': { data: Buffer.from('{"version":"1.0"}') },
      'vocab.txt': { data: Buffer.from('[PAD]\n[UNK]\nhello\n') },
      'README.md': { data: Buffer.from('# tiny\n') },
    },
    sharded: {
      'config.json': { data: config },
      'model.safetensors.index.json': { data: Buffer.from(JSON.stringify(index)) },
      'model-00001-of-00002.safetensors': { data: s1, lfs: true },
      'model-00002-of-00002.safetensors': { data: s2, lfs: true },
    },
  };
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const gitOid = (b) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/**
 * The Hub, as far as the downloader sees it. `repos` maps "org/name" to its
 * files; `cut` names files whose first transfer stops halfway (once
 * `cutWhen()` holds); `log` records
 * every request with its Range header.
 */
function hub(repos, { cut = new Set(), cutWhen = () => true, token } = {}) {
  const log = [];
  const cutDone = new Set();
  const json = (res, status, body) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const send = (req, res, data, name) => {
    const range = req.headers.range?.match(/^bytes=(\d+)-$/);
    const start = range ? Number(range[1]) : 0;
    if (start > data.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${data.length}` });
      return res.end();
    }
    const body = data.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'Content-Length': body.length,
      'Accept-Ranges': 'bytes',
      ...(range && { 'Content-Range': `bytes ${start}-${data.length - 1}/${data.length}` }),
    });
    if (cut.has(name) && !cutDone.has(name)) {
      cutDone.add(name);
      // Half the body, then a reset once the client has written some of it to
      // its partial file (`cutWhen`), so the resume is tested however loaded
      // the machine is.
      res.write(body.subarray(0, body.length >> 1));
      const started = Date.now();
      const poll = setInterval(() => {
        if (cutWhen() || Date.now() - started > 10000) {
          clearInterval(poll);
          res.destroy();
        }
      }, 5);
      return;
    }
    res.end(body);
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    log.push({ path: url.pathname, range: req.headers.range, auth: req.headers.authorization });
    let m = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/);
    if (m) {
      const files = repos[m[1]];
      if (!files || (m[1].startsWith('private/') && req.headers.authorization !== `Bearer ${token}`)) {
        return json(res, 404, { error: 'Repository not found' });
      }
      if (m[2] === 'revision') return json(res, 200, { _id: 'x', id: m[1], sha: COMMIT, private: false, downloads: 0, likes: 0, lastModified: '2026-01-01T00:00:00Z', siblings: Object.keys(files).map((rfilename) => ({ rfilename })) });
      return json(
        res,
        200,
        Object.entries(files).map(([path, f]) => ({
          type: 'file',
          path,
          size: f.lfs ? 134 : f.data.length,
          oid: gitOid(f.lfs ? Buffer.from(`pointer ${path}`) : f.data),
          ...(f.lfs && { lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } }),
        })),
      );
    }
    m = url.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    if (m) {
      const f = repos[m[1]]?.[decodeURIComponent(m[3])];
      if (!f || f.gone) {
        res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
        return res.end('Entry not found');
      }
      // LFS content lives on a CDN, as on the real Hub.
      if (f.lfs) {
        res.writeHead(302, { Location: `/cdn/${m[1]}/${sha256(f.data)}?name=${encodeURIComponent(m[3])}` });
        return res.end();
      }
      return send(req, res, f.data, m[3]);
    }
    m = url.pathname.match(/^\/cdn\/([^/]+\/[^/]+)\/([0-9a-f]{64})$/);
    if (m) {
      const entry = Object.entries(repos[m[1]] ?? {}).find(([, f]) => sha256(f.data) === m[2]);
      if (entry) return send(req, res, entry[1].data, entry[0]);
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${server.address().port}`, log, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) })),
  );
}

let repo;
test.before(async () => {
  repo = await makeRepoFiles();
});

test('a download lays out the cache as huggingface_hub does and gives a loadable snapshot', async () => {
  const server = await hub({ 'org/tiny': repo.files });
  const cacheDir = join(dir, 'cache1');
  try {
    const snapshot = await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, progress: false });
    const storage = join(cacheDir, 'models--org--tiny');
    assert.is(snapshot, join(storage, 'snapshots', COMMIT));
    assert.is(readFileSync(join(storage, 'refs', 'main'), 'utf8'), COMMIT);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt']) {
      assert.ok(lstatSync(join(snapshot, f)).isSymbolicLink(), `${f} is a link`);
      assert.ok(readFileSync(join(snapshot, f)).equals(repo.files[f].data), `${f} is exact`);
    }
    assert.is(readlinkSync(join(snapshot, 'model.safetensors')), join('..', '..', 'blobs', sha256(repo.files['model.safetensors'].data)));
    assert.is(readlinkSync(join(snapshot, 'config.json')), join('..', '..', 'blobs', gitOid(repo.files['config.json'].data)));
    assert.not.ok(existsSync(join(snapshot, 'pytorch_model.bin')), 'safetensors is preferred');
    assert.not.ok(existsSync(join(snapshot, 'README.md')), 'only what a model needs');
    assert.ok(server.log.some((r) => r.path.startsWith('/cdn/')), 'LFS files followed the redirect');

    const folder = await tg.weights.loadHfFolder(snapshot);
    assert.equal(folder.config, { model_type: 'tiny', hidden_size: 64 });
    assert.equal(Object.keys(folder.files).sort(), ['tokenizer.json', 'vocab.txt']);
    const m = model();
    assert.equal((await m.load(snapshot)).missing, []);
    assert.equal([...(await m.stateDict())['2.weight'].data], [...repo.record['2.weight'].data]);

    // A second call (the endpoint from HF_ENDPOINT) asks the server for metadata only.
    const before = server.log.length;
    process.env.HF_ENDPOINT = server.url;
    try {
      assert.is(await tg.weights.hubDownload('org/tiny', { cacheDir, progress: false }), snapshot);
    } finally {
      delete process.env.HF_ENDPOINT;
    }
    assert.ok(server.log.length > before, 'HF_ENDPOINT was used');
    assert.ok(server.log.slice(before).every((r) => r.path.startsWith('/api/')), 'no file transferred again');
  } finally {
    await server.close();
  }
});

test('cached files need no network: the server gone, HF_HUB_OFFLINE, a pinned commit', async () => {
  const server = await hub({ 'org/tiny': repo.files });
  const cacheDir = join(dir, 'cache2');
  const snapshot = await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, progress: false });
  await server.close();
  assert.is(await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, progress: false }), snapshot, 'server gone');
  process.env.HF_HUB_OFFLINE = '1';
  try {
    assert.is(await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: 'http://127.0.0.1:9' }), snapshot, 'offline');
    const miss = await rejection(() => tg.weights.hubDownload('org/other', { cacheDir, hubUrl: server.url }));
    assert.is(miss.code, 'ERR_TG_IO');
    assert.match(miss.message, 'org/other@main is not in the cache');
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
  assert.is(await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: 'http://127.0.0.1:9', revision: COMMIT, files: ['config.json'] }), snapshot, 'pinned commit');
  process.env.HF_HUB_CACHE = cacheDir;
  try {
    assert.is(tg.weights.hubCacheDir(), cacheDir);
    assert.is(await tg.weights.hubDownload('org/tiny', { offline: true }), snapshot, 'HF_HUB_CACHE');
  } finally {
    delete process.env.HF_HUB_CACHE;
  }
});

test('a transfer cut midway resumes with a Range request and the result is exact', async () => {
  const cacheDir = join(dir, 'cache3');
  const blobs = join(cacheDir, 'models--org--tiny', 'blobs');
  const partialWritten = () =>
    existsSync(blobs) && readdirSync(blobs).some((f) => f.endsWith('.incomplete') && statSync(join(blobs, f)).size > 0);
  const server = await hub({ 'org/tiny': repo.files }, { cut: new Set(['model.safetensors']), cutWhen: partialWritten });
  try {
    const snapshot = await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, files: ['model.safetensors'], progress: false });
    const data = repo.files['model.safetensors'].data;
    assert.ok(readFileSync(join(snapshot, 'model.safetensors')).equals(data), 'exact bytes');
    const cdn = server.log.filter((r) => r.path.startsWith('/cdn/'));
    assert.is(cdn[0].range, undefined, 'the first transfer starts at zero');
    const resumed = cdn.find((r) => r.range);
    assert.ok(resumed, 'a Range request followed the cut');
    const from = Number(resumed.range.match(/^bytes=(\d+)-$/)[1]);
    assert.ok(from > 0 && from < data.length, `resumed at byte ${from} of ${data.length}`);
  } finally {
    await server.close();
  }
});

test('a partial blob left by an earlier run is resumed, not restarted', async () => {
  const server = await hub({ 'org/tiny': repo.files });
  const cacheDir = join(dir, 'cache4');
  const data = repo.files['model.safetensors'].data;
  const blobs = join(cacheDir, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(data)}.incomplete`), data.subarray(0, 1000));
  try {
    const snapshot = await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, files: ['model.safetensors'], progress: false });
    assert.ok(readFileSync(join(snapshot, 'model.safetensors')).equals(data));
    assert.equal(server.log.filter((r) => r.path.startsWith('/cdn/')).map((r) => r.range), ['bytes=1000-']);
    assert.not.ok(existsSync(join(blobs, `${sha256(data)}.incomplete`)));
  } finally {
    await server.close();
  }
});

test('a corrupt partial blob is caught by the hash check and removed', async () => {
  const server = await hub({ 'org/tiny': repo.files });
  const cacheDir = join(dir, 'cache5');
  const data = repo.files['model.safetensors'].data;
  const blobs = join(cacheDir, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(data)}.incomplete`), Buffer.alloc(1000, 7));
  try {
    const err = await rejection(() => tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, files: ['model.safetensors'], progress: false }));
    assert.is(err.code, 'ERR_TG_IO');
    assert.match(err.message, 'corrupt');
    assert.not.ok(existsSync(join(blobs, `${sha256(data)}.incomplete`)));
    // The next run starts clean and succeeds.
    await tg.weights.hubDownload('org/tiny', { cacheDir, hubUrl: server.url, files: ['model.safetensors'], progress: false });
  } finally {
    await server.close();
  }
});

test('404s name the repository and the file', async () => {
  const files = { ...repo.files, 'vocab.txt': { ...repo.files['vocab.txt'], gone: true } };
  const server = await hub({ 'org/tiny': files });
  const cacheDir = join(dir, 'cache6');
  const opts = { cacheDir, hubUrl: server.url, progress: false };
  try {
    const notListed = await rejection(() => tg.weights.hubDownload('org/tiny', { ...opts, files: ['missing.bin'] }));
    assert.is(notListed.code, 'ERR_TG_IO');
    assert.match(notListed.message, 'org/tiny has no file missing.bin at revision main');
    const gone = await rejection(() => tg.weights.hubDownload('org/tiny', { ...opts, files: ['vocab.txt'] }));
    assert.match(gone.message, 'org/tiny has no file vocab.txt at revision main (HTTP 404');
    const noRepo = await rejection(() => tg.weights.hubDownload('org/nope', opts));
    assert.match(noRepo.message, 'repository org/nope at revision main not found');
    assert.match(noRepo.message, 'HF_TOKEN');
    const badId = await rejection(() => tg.weights.hubDownload('../etc', opts));
    assert.is(badId.code, 'ERR_TG_ARG');
  } finally {
    await server.close();
  }
});

test('a token is sent as a bearer header; sharded weights come with their index', async () => {
  const server = await hub({ 'private/tiny': repo.sharded }, { token: 'hf_secret' });
  const cacheDir = join(dir, 'cache7');
  try {
    const denied = await rejection(() => tg.weights.hubDownload('private/tiny', { cacheDir, hubUrl: server.url, progress: false }));
    assert.match(denied.message, 'not found or not accessible');
    process.env.HF_TOKEN = 'hf_secret';
    let snapshot;
    try {
      snapshot = await tg.weights.hubDownload('private/tiny', { cacheDir, hubUrl: server.url, progress: false });
    } finally {
      delete process.env.HF_TOKEN;
    }
    assert.ok(server.log.filter((r) => r.path.includes('/resolve/')).every((r) => r.auth === 'Bearer hf_secret'));
    for (const f of Object.keys(repo.sharded)) assert.ok(existsSync(join(snapshot, f)), f);
    const folder = await tg.weights.loadHfFolder(snapshot);
    assert.equal(Object.keys(folder.tensors).sort(), Object.keys(repo.record).sort());
    assert.is(folder.weights.length, 2);
  } finally {
    await server.close();
  }
});

test('a progress bar is drawn on stderr when asked for', async () => {
  const server = await hub({ 'org/tiny': repo.files });
  const written = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => {
    written.push(String(chunk));
    return typeof rest.at(-1) === 'function' ? (rest.at(-1)(), true) : true;
  };
  try {
    await tg.weights.hubDownload('org/tiny', { cacheDir: join(dir, 'cache8'), hubUrl: server.url, files: ['model.safetensors'], progress: true });
  } finally {
    process.stderr.write = write;
    await server.close();
  }
  assert.ok(written.join('').includes('model.safetensors'), written.join(''));
});

function folderWith(name, files) {
  const f = join(dir, name);
  mkdirSync(f, { recursive: true });
  for (const [file, data] of Object.entries(files)) writeFileSync(join(f, file), data);
  return f;
}

test('loadHfFolder validates the shard index and names the folder and the file', async () => {
  const noConfig = folderWith('noconfig', { 'model.safetensors': repo.files['model.safetensors'].data });
  const e1 = await rejection(() => tg.weights.loadHfFolder(noConfig));
  assert.is(e1.code, 'ERR_TG_IO');
  assert.match(e1.message, `${noConfig}: config.json is missing`);
  // Model.load needs no config.
  assert.equal((await model().load(noConfig)).missing, []);

  const { 'model-00002-of-00002.safetensors': _, ...oneShard } = Object.fromEntries(Object.entries(repo.sharded).map(([k, v]) => [k, v.data]));
  const missingShard = folderWith('missingshard', oneShard);
  const e2 = await rejection(() => tg.weights.loadHfFolder(missingShard));
  assert.match(e2.message, `${missingShard}: shard model-00002-of-00002.safetensors listed in model.safetensors.index.json is missing`);

  const index = JSON.parse(repo.sharded['model.safetensors.index.json'].data);
  index.weight_map['3.weight'] = 'model-00001-of-00002.safetensors';
  const badKey = folderWith('badkey', { ...Object.fromEntries(Object.entries(repo.sharded).map(([k, v]) => [k, v.data])), 'model.safetensors.index.json': JSON.stringify(index) });
  const e3 = await rejection(() => tg.weights.loadHfFolder(badKey));
  assert.is(e3.code, 'ERR_TG_FORMAT');
  assert.match(e3.message, 'lists 3.weight in model-00001-of-00002.safetensors, but that shard does not have it');

  index.weight_map['3.weight'] = '../outside.safetensors';
  const hostile = folderWith('hostile', { ...Object.fromEntries(Object.entries(repo.sharded).map(([k, v]) => [k, v.data])), 'model.safetensors.index.json': JSON.stringify(index) });
  assert.match((await rejection(() => tg.weights.loadHfFolder(hostile))).message, 'points outside the folder');

  const none = folderWith('noweights', { 'config.json': '{}', 'tf_model.h5': 'x' });
  const e4 = await rejection(() => tg.weights.loadHfFolder(none));
  assert.match(e4.message, `${none}: no weights found`);
  assert.match(e4.message, 'tf_model.h5');
});

test('loadHfFolder reads pytorch_model.bin when there is no safetensors file', async () => {
  const torchFile = new URL('./parity/fixtures/export/torch.pt', import.meta.url);
  if (!existsSync(torchFile)) return;
  const f = folderWith('torchbin', { 'config.json': '{"model_type":"cnn"}' });
  copyFileSync(torchFile, join(f, 'pytorch_model.bin'));
  const folder = await tg.weights.loadHfFolder(f);
  assert.is(folder.format, 'torch-zip');
  assert.ok('0.weight' in folder.tensors);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
