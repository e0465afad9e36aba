// imageFolder(): torchvision.datasets.ImageFolder. One subfolder of `root` per
// class; classes sorted by name and numbered from 0 (class_to_idx); each
// class folder walked recursively, following links, its files in sorted
// order and kept when the extension matches (case-insensitive).
// Deliberate differences: names starting with '.' are ignored (torchvision
// would make '.ipynb_checkpoints' a class and read macOS '._x.jpg' files), and
// a class folder with no images is an error unless `allowEmpty` is set, as
// torchvision's allow_empty.
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join, resolve } from 'node:path';
import { invalid, tgError } from '../errors.js';
import { ImageDataset, type ImageDatasetOptions, type ImageSample } from './image-dataset.js';

/** The extensions of the formats sharp decodes (torchvision's IMG_EXTENSIONS less BMP, PPM and PGM, plus AVIF). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif'];

export interface ImageFolderOptions extends ImageDatasetOptions {
  /** File extensions to keep, with the dot; default IMAGE_EXTENSIONS. */
  extensions?: readonly string[];
  /** Accept class folders without images (they keep their class id); default false. */
  allowEmpty?: boolean;
}

function readDir(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read image folder ${dir}: ${(err as Error).message}`);
  }
}

// A link counts as what it points to, as os.scandir's is_dir() and os.walk(followlinks=True).
function isDir(dir: string, e: Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(join(dir, e.name)).isDirectory();
  } catch {
    return false; // a dangling link is a (bad) file
  }
}

// Every folder under `dir` (itself included) with its file names, as os.walk
// with followlinks=True, but never entering the same real folder twice.
function walk(dir: string, seen: Set<string>, out: { dir: string; files: string[] }[]): void {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read image folder ${dir}: ${(err as Error).message}`);
  }
  if (seen.has(real)) return;
  seen.add(real);
  const files: string[] = [];
  const subdirs: string[] = [];
  for (const e of readDir(dir)) {
    if (e.name.startsWith('.')) continue;
    if (isDir(dir, e)) subdirs.push(e.name);
    else files.push(e.name);
  }
  out.push({ dir, files: files.sort() });
  for (const s of subdirs) walk(join(dir, s), seen, out);
}

/** A data set of images in class subfolders of `root` (torchvision's ImageFolder layout). */
export function imageFolder(root: string, options: ImageFolderOptions = {}): ImageDataset {
  const where = 'tg.data.imageFolder';
  if (typeof root !== 'string' || root === '') throw invalid('ERR_TG_ARG', where, 'root', 'a folder path', root);
  const extensions = options.extensions ?? IMAGE_EXTENSIONS;
  if (!Array.isArray(extensions) || extensions.length === 0 || !extensions.every((x) => typeof x === 'string' && x !== '')) {
    throw invalid('ERR_TG_ARG', where, 'extensions', 'a non-empty array of extensions such as ".jpg"', extensions);
  }
  const exts = extensions.map((x) => x.toLowerCase());
  const dir = resolve(root);
  let isFolder = false;
  try {
    isFolder = statSync(dir).isDirectory();
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read image folder ${root}: ${(err as Error).message}`);
  }
  if (!isFolder) throw tgError('ERR_TG_IO', `cannot read image folder ${root}: it is not a folder`);

  const classes = readDir(dir)
    .filter((e) => !e.name.startsWith('.') && isDir(dir, e))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) {
    throw tgError('ERR_TG_ARG', `${where}: found no class folders in ${root} (expected one subfolder of images per class)`);
  }

  const samples: ImageSample[] = [];
  const empty: string[] = [];
  classes.forEach((name, target) => {
    const folders: { dir: string; files: string[] }[] = [];
    walk(join(dir, name), new Set(), folders);
    // os.walk's tuples are sorted by folder path before their files are read.
    folders.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
    const before = samples.length;
    for (const f of folders) {
      for (const file of f.files) {
        const lower = file.toLowerCase();
        if (exts.some((x) => lower.endsWith(x))) samples.push({ path: join(f.dir, file), target });
      }
    }
    if (samples.length === before) empty.push(name);
  });
  if (empty.length > 0 && !options.allowEmpty) {
    throw tgError(
      'ERR_TG_ARG',
      `${where}: found no images for class${empty.length > 1 ? 'es' : ''} ${empty.map((c) => `'${c}'`).join(', ')} in ${root} ` +
        `(extensions ${exts.join(', ')})`,
    );
  }
  return new ImageDataset(dir, samples, classes, options);
}
