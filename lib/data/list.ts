// imageList(): a labelled image data set from a CSV or JSON list, the layout
// of most Kaggle-style data sets (torchvision has no such class; the result
// behaves as its ImageFolder). Paths are relative to the list file's folder.
// Labels are class names (numbered in sorted order, as ImageFolder numbers its
// folders, unless the class names are given) or integer class ids; with
// 'auto' they are ids when every label is an integer, and in JSON a number is
// always an id.
//   CSV:  a header row naming the columns (default 'path' and 'label'), RFC 4180
//         quoting; `header: false` takes columns 0 and 1.
//   JSON: [{ "path": ..., "label": ... }, ...], [[path, label], ...], or
//         { "classes": [...], "samples": <either of those> }.
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { invalid, tgError } from '../errors.js';
import { ImageDataset, type ImageDatasetOptions, type ImageSample } from './image-dataset.js';

export interface ImageListOptions extends ImageDatasetOptions {
  /** Default: from the file extension (.csv or .json). */
  format?: 'csv' | 'json';
  /** The path column: a header name (case-insensitive) or a 0-based index. Default 'path' (0 without a header). */
  pathColumn?: string | number;
  /** The label column, likewise. Default 'label' (1 without a header). */
  labelColumn?: string | number;
  /** Whether a CSV's first row names the columns; default true. */
  header?: boolean;
  /** How to read labels; default 'auto'. */
  labels?: 'auto' | 'name' | 'id';
  /** Class names by id. Default: the sorted distinct names, or the ids written as names ("0", "1", ...). */
  classes?: string[];
  /** The folder that relative paths start from; default the list file's folder. */
  baseDir?: string;
}

interface Entry {
  path: string;
  label: string | number;
  /** "line 3" or "item 2", for messages. */
  where: string;
}

/**
 * RFC 4180 fields: commas split, double quotes enclose (with "" for a quote),
 * CRLF or LF end records. Returns each record with the line it starts on.
 */
export function parseCsv(text: string, file = 'CSV'): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte order mark is not data
  const endRecord = () => {
    fields.push(field);
    // A blank line is no record.
    if (!(fields.length === 1 && fields[0].trim() === '')) rows.push({ line: start, fields });
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
  }
  if (quoted) throw tgError('ERR_TG_FORMAT', `${file}: line ${start}: a quoted field is not closed`);
  if (field !== '' || fields.length > 0) endRecord();
  return rows;
}

function csvEntries(text: string, file: string, o: ImageListOptions): Entry[] {
  const rows = parseCsv(text, file);
  const header = o.header ?? true;
  let pathCol: number;
  let labelCol: number;
  let body = rows;
  if (header) {
    if (rows.length === 0) throw tgError('ERR_TG_FORMAT', `${file}: the list is empty (expected a header row)`);
    const names = rows[0].fields.map((f) => f.trim().toLowerCase());
    const find = (col: string | number, what: string): number => {
      if (typeof col === 'number') {
        if (col < names.length) return col;
        throw tgError('ERR_TG_FORMAT', `${file}: the header has ${names.length} columns, so ${what} column ${col} does not exist`);
      }
      const k = names.indexOf(col.toLowerCase());
      if (k < 0) {
        throw tgError('ERR_TG_FORMAT', `${file}: no ${what} column '${col}' in the header (${rows[0].fields.join(', ')})`);
      }
      return k;
    };
    pathCol = find(o.pathColumn ?? 'path', 'path');
    labelCol = find(o.labelColumn ?? 'label', 'label');
    body = rows.slice(1);
  } else {
    const index = (col: string | number | undefined, dflt: number, name: string): number => {
      if (col === undefined) return dflt;
      if (typeof col === 'number') return col;
      throw invalid('ERR_TG_ARG', 'tg.data.imageList', name, 'a column index when header is false', col);
    };
    pathCol = index(o.pathColumn, 0, 'pathColumn');
    labelCol = index(o.labelColumn, 1, 'labelColumn');
  }
  return body.map(({ line, fields }) => {
    const need = Math.max(pathCol, labelCol) + 1;
    if (fields.length < need) {
      throw tgError('ERR_TG_FORMAT', `${file}: line ${line} has ${fields.length} field(s), expected at least ${need}`);
    }
    return { path: fields[pathCol].trim(), label: fields[labelCol].trim(), where: `line ${line}` };
  });
}

function jsonEntries(text: string, file: string, o: ImageListOptions): { entries: Entry[]; classes?: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw tgError('ERR_TG_FORMAT', `${file}: not valid JSON: ${(err as Error).message}`);
  }
  let classes: string[] | undefined;
  let items = doc;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const d = doc as { classes?: unknown; samples?: unknown };
    if (d.classes !== undefined) {
      if (!Array.isArray(d.classes) || !d.classes.every((c) => typeof c === 'string')) {
        throw tgError('ERR_TG_FORMAT', `${file}: "classes" must be an array of names`);
      }
      classes = d.classes as string[];
    }
    items = d.samples;
  }
  if (!Array.isArray(items)) {
    throw tgError('ERR_TG_FORMAT', `${file}: expected an array of samples (or { "samples": [...] })`);
  }
  const pathKey = typeof o.pathColumn === 'string' ? o.pathColumn : 'path';
  const labelKey = typeof o.labelColumn === 'string' ? o.labelColumn : 'label';
  const entries = items.map((item, i): Entry => {
    const where = `item ${i}`;
    let path: unknown;
    let label: unknown;
    if (Array.isArray(item)) [path, label] = item;
    else if (item !== null && typeof item === 'object') {
      path = (item as Record<string, unknown>)[pathKey];
      label = (item as Record<string, unknown>)[labelKey];
    }
    if (typeof path !== 'string') {
      throw tgError('ERR_TG_FORMAT', `${file}: ${where} has no "${pathKey}" string (expected { "${pathKey}": ..., "${labelKey}": ... } or [path, label])`);
    }
    if (typeof label !== 'string' && typeof label !== 'number') {
      throw tgError('ERR_TG_FORMAT', `${file}: ${where} has no "${labelKey}" (a class name or an integer id)`);
    }
    return { path: path.trim(), label: typeof label === 'string' ? label.trim() : label, where };
  });
  return { entries, classes };
}

const INTEGER = /^\d+$/;

function isId(label: string | number): boolean {
  return typeof label === 'number' ? Number.isSafeInteger(label) && label >= 0 : INTEGER.test(label);
}

/** A data set of the images named in a CSV or JSON list. */
export function imageList(file: string, options: ImageListOptions = {}): ImageDataset {
  const where = 'tg.data.imageList';
  if (typeof file !== 'string' || file === '') throw invalid('ERR_TG_ARG', where, 'file', 'a path to a .csv or .json list', file);
  const format = options.format ?? (extname(file).toLowerCase() === '.json' ? 'json' : extname(file).toLowerCase() === '.csv' ? 'csv' : undefined);
  if (format !== 'csv' && format !== 'json') {
    throw invalid('ERR_TG_ARG', where, 'format', "'csv' or 'json' (or a file ending in .csv or .json)", options.format ?? file);
  }
  const mode = options.labels ?? 'auto';
  if (mode !== 'auto' && mode !== 'name' && mode !== 'id') throw invalid('ERR_TG_ARG', where, 'labels', "'auto', 'name' or 'id'", mode);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw tgError('ERR_TG_IO', `cannot read image list ${file}: ${(err as Error).message}`);
  }

  let entries: Entry[];
  let classes = options.classes;
  if (format === 'csv') entries = csvEntries(text, file, options);
  else {
    const parsed = jsonEntries(text, file, options);
    entries = parsed.entries;
    classes ??= parsed.classes;
  }
  if (entries.length === 0) throw tgError('ERR_TG_ARG', `${where}: ${file} lists no images`);
  if (classes !== undefined && (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string'))) {
    throw invalid('ERR_TG_ARG', where, 'classes', 'an array of class names', classes);
  }
  for (const e of entries) {
    if (e.path === '') throw tgError('ERR_TG_FORMAT', `${file}: ${e.where}: the path is empty`);
    if (e.label === '') throw tgError('ERR_TG_FORMAT', `${file}: ${e.where}: the label is empty`);
  }

  // 'auto': all integers → ids; otherwise strings are names and JSON numbers ids.
  const allIds = entries.every((e) => isId(e.label));
  const asId = (e: Entry) => mode === 'id' || (mode === 'auto' && (allIds || typeof e.label === 'number'));
  if (!allIds && mode === 'auto' && !classes && entries.some((e) => typeof e.label === 'number')) {
    throw tgError('ERR_TG_FORMAT', `${file}: labels mix class ids and names; give the class names (option or "classes") to number them`);
  }
  if (!classes) {
    if (entries.every(asId)) {
      const ids = entries.map((e) => (isId(e.label) ? Number(e.label) : -1));
      classes = Array.from({ length: ids.reduce((m, t) => Math.max(m, t), -1) + 1 }, (_, i) => String(i));
    } else {
      classes = [...new Set(entries.map((e) => String(e.label)))].sort();
    }
  }
  const known = classes;
  const index = new Map(known.map((c, i) => [c, i]));
  const targets = entries.map((e) => {
    if (asId(e)) {
      if (!isId(e.label)) throw tgError('ERR_TG_FORMAT', `${file}: ${e.where}: label ${JSON.stringify(e.label)} is not a class id (a non-negative integer)`);
      const id = Number(e.label);
      if (id >= known.length) throw tgError('ERR_TG_FORMAT', `${file}: ${e.where}: class id ${id} is out of range for ${known.length} classes`);
      return id;
    }
    const id = index.get(String(e.label));
    if (id === undefined) {
      throw tgError('ERR_TG_FORMAT', `${file}: ${e.where}: unknown class ${JSON.stringify(String(e.label))} (classes: ${known.join(', ')})`);
    }
    return id;
  });

  const base = resolve(options.baseDir ?? dirname(file));
  const samples: ImageSample[] = entries.map((e, k) => ({ path: resolve(base, e.path), target: targets[k] }));
  return new ImageDataset(resolve(file), samples, classes, options);
}
