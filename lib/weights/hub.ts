// Downloads from the Hugging Face Hub into the cache layout that
// huggingface_hub (Python) and @huggingface/hub share, so every tool finds
// the files: <cache>/models--org--name/ with blobs/<etag> (the content),
// snapshots/<commit>/<file> (relative links to the blobs) and
// refs/<revision> (the commit a branch or tag pointed to).
//
// Metadata goes through @huggingface/hub: modelInfo resolves a revision to a
// commit (GET /api/models/<repo>/revision/<rev>) and listFiles gives each
// file's size and hash (GET /api/models/<repo>/tree/<commit>). The byte
// transfer (GET /<repo>/resolve/<commit>/<file>) is done here, because the
// library's downloadFileToCacheDir always starts over from byte zero: here a
// partial blobs/<etag>.incomplete resumes with an HTTP Range request, and the
// finished blob is checked against the listed size and hash (sha256 for LFS
// files, the git blob id for small ones) before it joins the cache.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { tgError, type TgError } from '../errors.js';
import { TOKENIZER_FILES, WEIGHT_FILES } from './hf.js';

export interface HubDownloadOptions {
  /** A branch, tag or commit (default 'main'). */
  revision?: string;
  /** The cache root (default: HF_HUB_CACHE, or HF_HOME/hub, or ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** The Hub endpoint (default: HF_ENDPOINT, or https://huggingface.co). */
  hubUrl?: string;
  /** An access token for private or gated repositories (default: HF_TOKEN). */
  token?: string;
  /** The files to fetch (default: config.json, the best weights format, the tokenizer files). */
  files?: string[];
  /** A progress bar on stderr (default: only when stderr is a terminal). */
  progress?: boolean;
  /** Use the cache only (default: HF_HUB_OFFLINE). */
  offline?: boolean;
}

/** A file as the Hub lists it. */
interface RemoteFile {
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
  xetHash?: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const MAX_ATTEMPTS = 5;

function envFlag(name: string): boolean {
  return ['1', 'on', 'yes', 'true'].includes((process.env[name] ?? '').toLowerCase());
}

/** The cache root, resolved as huggingface_hub resolves it. */
export function hubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** The cache folder of one model repository. */
export function repoCacheFolder(repo: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, ['models', ...repo.split('/')].join('--'));
}

function checkRelative(file: string, where: string): string {
  const n = normalize(file);
  if (typeof file !== 'string' || !file || isAbsolute(file) || n.split(sep).includes('..') || n.startsWith('..')) {
    throw tgError('ERR_TG_ARG', `${where}: file name '${file}' must be a path inside the repository`);
  }
  return file;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path); // follows links: a dangling snapshot link is no hit
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/**
 * What to fetch by default, given the names that exist: config.json, the
 * tokenizer files, and the first weights format of WEIGHT_FILES (the shards
 * of an index follow once the index itself is read).
 */
export function defaultFiles(names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (names.has('config.json')) out.push('config.json');
  for (const { file, index } of WEIGHT_FILES) {
    if (names.has(file)) {
      out.push(file);
      break;
    }
    if (names.has(index)) {
      out.push(index);
      break;
    }
  }
  for (const f of TOKENIZER_FILES) if (names.has(f)) out.push(f);
  return out;
}

function isIndex(file: string): boolean {
  return WEIGHT_FILES.some((w) => w.index === file);
}

async function shardsOf(indexPath: string, file: string): Promise<string[]> {
  let map: unknown;
  try {
    map = (JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `${file} is not a valid weight index: ${(err as Error).message}`);
  }
  if (!map || typeof map !== 'object') throw tgError('ERR_TG_FORMAT', `${file} has no "weight_map" object`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  if (!shards.every((s) => typeof s === 'string')) throw tgError('ERR_TG_FORMAT', `${file}: every weight_map value must be a file name`);
  return (shards as string[]).map((s) => checkRelative(s, file));
}

/** The snapshot folder if it already holds everything asked for, or undefined. */
async function cachedSnapshot(storage: string, commit: string, files: string[] | undefined): Promise<string | undefined> {
  const snapshot = join(storage, 'snapshots', commit);
  if (!(await exists(snapshot))) return undefined;
  let wanted = files;
  if (!wanted) {
    const present = new Set<string>();
    for (const f of ['config.json', ...WEIGHT_FILES.flatMap((w) => [w.file, w.index]), ...TOKENIZER_FILES]) {
      if (await exists(join(snapshot, f))) present.add(f);
    }
    wanted = defaultFiles(present);
    // Without weights this is not a usable snapshot (an earlier run fetched only a config, say).
    if (!wanted.some((f) => WEIGHT_FILES.some((w) => w.file === f || w.index === f))) return undefined;
  }
  for (const f of wanted) {
    if (!(await exists(join(snapshot, f)))) return undefined;
    if (isIndex(f)) for (const s of await shardsOf(join(snapshot, f), f)) if (!(await exists(join(snapshot, s)))) return undefined;
  }
  return snapshot;
}

async function fromCache(storage: string, revision: string, files: string[] | undefined): Promise<string | undefined> {
  let commit = revision;
  if (!COMMIT.test(revision)) {
    try {
      commit = (await readFile(join(storage, 'refs', revision), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }
  return cachedSnapshot(storage, commit, files);
}

/** An error from @huggingface/hub (HubApiError carries statusCode). */
function hubFailure(err: unknown, repo: string, revision: string, hubUrl: string, token: string | undefined): TgError {
  const e = err as Error & { statusCode?: number };
  if (e.statusCode === 401 || e.statusCode === 403 || e.statusCode === 404) {
    const why = token ? '' : ' (a private or gated repository needs a token: the token option or HF_TOKEN)';
    return tgError('ERR_TG_IO', `repository ${repo} at revision ${revision} not found or not accessible on ${hubUrl} (HTTP ${e.statusCode})${why}`);
  }
  if (e.statusCode !== undefined) return tgError('ERR_TG_IO', `${hubUrl}: listing ${repo}@${revision} failed (HTTP ${e.statusCode}): ${e.message}`);
  if (e instanceof TypeError && /token/i.test(e.message)) return tgError('ERR_TG_ARG', `hubDownload: ${e.message}`);
  return tgError('ERR_TG_IO', `cannot reach ${hubUrl} for ${repo}@${revision}: ${causeOf(e)}`);
}

function causeOf(err: Error): string {
  const cause = (err as Error & { cause?: Error & { code?: string } }).cause;
  return cause ? `${err.message} (${cause.code ?? cause.message})` : err.message;
}

function isHttpError(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode !== undefined;
}

async function listRemote(repo: string, revision: string, hubUrl: string, token: string | undefined): Promise<{ commit: string; files: Map<string, RemoteFile> }> {
  const { modelInfo, listFiles } = await import('@huggingface/hub');
  const info = await modelInfo({ name: repo, revision, hubUrl, accessToken: token, additionalFields: ['sha'] });
  const commit = info.sha;
  if (typeof commit !== 'string' || !COMMIT.test(commit)) {
    throw tgError('ERR_TG_FORMAT', `${hubUrl}: the Hub gave no commit for ${repo}@${revision}`);
  }
  const files = new Map<string, RemoteFile>();
  for await (const entry of listFiles({ repo: { type: 'model', name: repo }, revision: commit, recursive: true, hubUrl, accessToken: token })) {
    if (entry.type === 'file') files.set(entry.path, entry);
  }
  return { commit, files };
}

/** A progress display for one file, or nothing. */
interface Progress {
  start(file: string, total: number, done: number): void;
  update(done: number): void;
  stop(): void;
}

async function progressBar(enabled: boolean): Promise<Progress | undefined> {
  if (!enabled) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const mb = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`;
  let bar: InstanceType<typeof cliProgress.SingleBar> | undefined;
  return {
    start(file, total, done) {
      bar = new cliProgress.SingleBar(
        {
          format: `${file} |{bar}| {percentage}% {done}/{size} {eta_formatted}`,
          stream: process.stderr,
          noTTYOutput: !process.stderr.isTTY,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, done, { done: mb(done), size: mb(total) });
    },
    update(done) {
      bar?.update(done, { done: mb(done) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

interface Transfer {
  url: string;
  file: string;
  repo: string;
  revision: string;
  size: number;
  token?: string;
  progress?: Progress;
}

/** Fetches `url` into `incomplete`, resuming from what is already there. */
async function transfer(t: Transfer, incomplete: string): Promise<void> {
  let failures = 0;
  let lastError = '';
  t.progress?.start(t.file, t.size, Math.min((await sizeOf(incomplete)) ?? 0, t.size));
  try {
    for (;;) {
      let have = (await sizeOf(incomplete)) ?? 0;
      if (have > t.size) {
        await rm(incomplete, { force: true });
        have = 0;
      }
      if (have === t.size) return;
      if (failures >= MAX_ATTEMPTS) {
        throw tgError('ERR_TG_IO', `downloading ${t.file} of ${t.repo} from ${t.url} failed after ${failures} attempts at byte ${have} of ${t.size} (${lastError}); run again to resume`);
      }
      const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
      if (t.token) headers.Authorization = `Bearer ${t.token}`;
      if (have > 0) headers.Range = `bytes=${have}-`;
      let res: Response;
      try {
        res = await fetch(t.url, { headers });
      } catch (err) {
        failures++;
        lastError = causeOf(err as Error);
        await new Promise((r) => setTimeout(r, 100 * failures));
        continue;
      }
      if (res.status === 404) {
        throw tgError('ERR_TG_IO', `${t.repo} has no file ${t.file} at revision ${t.revision} (HTTP 404 from ${t.url})`);
      }
      if (res.status === 416) {
        // The server's idea of the file differs from our partial copy: start over.
        await rm(incomplete, { force: true });
        failures++;
        lastError = 'HTTP 416';
        continue;
      }
      if (!res.ok || !res.body) {
        const hint = res.status === 401 || res.status === 403 ? ' (a private or gated repository needs a token: the token option or HF_TOKEN)' : '';
        throw tgError('ERR_TG_IO', `downloading ${t.file} of ${t.repo} from ${t.url} failed: HTTP ${res.status}${hint}`);
      }
      // Append only if the server answered the range we asked for; a 200 is the whole file.
      const range = res.headers.get('content-range');
      const resumes = have > 0 && res.status === 206 && range !== null && range.startsWith(`bytes ${have}-`);
      if (!resumes) have = 0;
      const out = await open(incomplete, resumes ? 'a' : 'w');
      try {
        for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
          await out.write(chunk as Uint8Array);
          have += (chunk as Uint8Array).length;
          t.progress?.update(have);
        }
      } catch (err) {
        failures++;
        lastError = causeOf(err as Error);
        continue;
      } finally {
        await out.close();
      }
    }
  } finally {
    t.progress?.stop();
  }
}

async function hashFile(path: string, algorithm: 'sha256' | 'sha1', prefix?: Buffer): Promise<string> {
  const h = createHash(algorithm);
  if (prefix) h.update(prefix);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Checks a finished download against the listing; the Hub names LFS blobs by sha256 and others by git blob id. */
async function verify(path: string, f: RemoteFile, size: number, repo: string): Promise<void> {
  const got = (await sizeOf(path)) ?? 0;
  let problem: string | undefined;
  if (got !== size) problem = `${got} bytes, the Hub lists ${size}`;
  else if (f.lfs) {
    const sha = await hashFile(path, 'sha256');
    if (sha !== f.lfs.oid) problem = `sha256 ${sha}, the Hub lists ${f.lfs.oid}`;
  } else if (f.oid && COMMIT.test(f.oid)) {
    const id = await hashFile(path, 'sha1', Buffer.from(`blob ${size}\0`));
    if (id !== f.oid) problem = `git blob id ${id}, the Hub lists ${f.oid}`;
  }
  if (problem) {
    await rm(path, { force: true });
    throw tgError('ERR_TG_IO', `download of ${f.path} from ${repo} is corrupt (${problem}); removed, run again`);
  }
}

async function link(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    // No symlinks (Windows without developer mode): a copy, as huggingface_hub does.
    await copyFile(blob, pointer);
  }
}

/**
 * Downloads (or finds in the cache) a model repository's files and resolves
 * to the snapshot folder, ready for loadHfFolder or Model.load.
 */
export async function hubDownload(repo: string, options: HubDownloadOptions = {}): Promise<string> {
  const where = 'hubDownload';
  if (typeof repo !== 'string' || !REPO_ID.test(repo) || repo.includes('..') || repo.includes('--')) {
    throw tgError('ERR_TG_ARG', `${where}: repo must be a model id such as "org/name", got ${JSON.stringify(repo)}`);
  }
  const revision = options.revision ?? 'main';
  if (typeof revision !== 'string' || !revision || revision.split('/').includes('..')) {
    throw tgError('ERR_TG_ARG', `${where}: revision must be a branch, tag or commit, got ${JSON.stringify(revision)}`);
  }
  const files = options.files?.map((f) => checkRelative(f, where));
  if (files && !files.length) throw tgError('ERR_TG_ARG', `${where}: files is empty`);
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const hubUrl = (options.hubUrl ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN ?? undefined;
  const offline = options.offline ?? envFlag('HF_HUB_OFFLINE');
  const storage = repoCacheFolder(repo, cacheDir);

  // A commit never changes: if its snapshot has the files, there is nothing to ask.
  if (COMMIT.test(revision)) {
    const hit = await cachedSnapshot(storage, revision, files);
    if (hit) return hit;
  }
  if (offline) {
    const hit = await fromCache(storage, revision, files);
    if (hit) return hit;
    throw tgError('ERR_TG_IO', `${repo}@${revision} is not in the cache (${storage}) and downloads are off (HF_HUB_OFFLINE or offline: true)`);
  }

  let listing: Awaited<ReturnType<typeof listRemote>>;
  try {
    listing = await listRemote(repo, revision, hubUrl, token);
  } catch (err) {
    if (String((err as TgError).code ?? '').startsWith('ERR_TG_')) throw err;
    // No connection: what the cache holds for this revision will do.
    if (!isHttpError(err) && !(err instanceof TypeError && /token/i.test((err as Error).message))) {
      const hit = await fromCache(storage, revision, files);
      if (hit) return hit;
    }
    throw hubFailure(err, repo, revision, hubUrl, token);
  }
  const { commit, files: remote } = listing;
  const wanted = files ?? defaultFiles(new Set(remote.keys()));
  if (!files && !wanted.some((f) => WEIGHT_FILES.some((w) => w.file === f || w.index === f))) {
    throw tgError(
      'ERR_TG_IO',
      `${repo}@${revision} has no weights this library reads (looked for ${WEIGHT_FILES.flatMap((w) => [w.file, w.index]).join(', ')}; it has ${[...remote.keys()].slice(0, 20).join(', ')})`,
    );
  }

  const snapshot = join(storage, 'snapshots', commit);
  const progress = await progressBar(options.progress ?? Boolean(process.stderr.isTTY));
  const fetchOne = async (file: string): Promise<void> => {
    const f = remote.get(file);
    if (!f) throw tgError('ERR_TG_IO', `${repo} has no file ${file} at revision ${revision} (commit ${commit})`);
    const pointer = join(snapshot, file);
    if (await exists(pointer)) return;
    const etag = f.lfs?.oid ?? f.xetHash ?? f.oid;
    if (!etag || !/^[\w-]+$/.test(etag)) throw tgError('ERR_TG_FORMAT', `${hubUrl}: no usable hash listed for ${file} of ${repo}`);
    const blob = join(storage, 'blobs', etag);
    if (!(await exists(blob))) {
      await mkdir(dirname(blob), { recursive: true });
      const incomplete = `${blob}.incomplete`;
      const size = f.lfs?.size ?? f.size;
      const url = `${hubUrl}/${repo}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
      await transfer({ url, file, repo, revision, size, token, progress }, incomplete);
      await verify(incomplete, f, size, repo);
      await rename(incomplete, blob);
    }
    await link(blob, pointer);
  };

  for (const file of wanted) {
    await fetchOne(file);
    if (isIndex(file)) for (const shard of await shardsOf(join(snapshot, file), file)) await fetchOne(shard);
  }
  if (revision !== commit) {
    const ref = join(storage, 'refs', revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(ref, commit);
  }
  return snapshot;
}
