import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore, S3StoreOptions } from './blob-store';
import { FileBlobStore } from './file-blob-store';
import type { S3BlobStore as S3BlobStoreClass } from './s3-blob-store';

const ACCEPTED_FORMS =
  'file:///absolute/path, file:relative/path, file://./relative/path (relative to the working directory) or s3://bucket[/prefix]';

/**
 * Opens the store a URI names. `s3` is only used for s3:// URIs. Relative file paths are resolved
 * against the current working directory once, here.
 *
 * @throws Error naming the URI and the accepted forms when the URI is not one of them.
 */
export function openBlobStore(uri: string, s3: S3StoreOptions): BlobStore {
  if (uri.startsWith('s3://')) {
    const { bucket, prefix } = parseS3(uri);
    // Loaded on first use: the AWS SDK takes ~80 ms to load, paid by every ingest thread and CLI
    // command otherwise, even on file:// stores.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3BlobStore } = require('./s3-blob-store') as { S3BlobStore: typeof S3BlobStoreClass };
    return new S3BlobStore({ bucket, prefix, uri, options: s3 });
  }
  if (uri.startsWith('file:')) return new FileBlobStore({ root: parseFile(uri), uri });
  throw unsupported(uri, 'unknown scheme');
}

function parseFile(uri: string): string {
  try {
    return parseFilePath(uri);
  } catch (err) {
    // fileURLToPath and decodeURIComponent reject bad escapes such as %2F or a lone %. Matched by
    // name, since errors from Node internals are not instances of the caller's realm's TypeError.
    const { name, message } = err as Error;
    if (name === 'TypeError' || name === 'URIError') throw unsupported(uri, message);
    throw err;
  }
}

function parseFilePath(uri: string): string {
  if (uri.startsWith('file:///')) return fileURLToPath(uri);
  if (uri.startsWith('file://')) {
    const rest = uri.slice('file://'.length);
    // Without this check file://data/x would silently mean host "data", which Node rejects anyway.
    if (rest === '.' || rest === '..' || rest.startsWith('./') || rest.startsWith('../')) {
      return path.resolve(decodeURIComponent(rest));
    }
    throw unsupported(uri, 'file:// must be followed by an absolute path or ./relative/path');
  }
  const rest = uri.slice('file:'.length);
  if (!rest) throw unsupported(uri, 'empty path');
  return path.resolve(decodeURIComponent(rest));
}

function parseS3(uri: string): { bucket: string; prefix: string } {
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  // S3's own bucket rules, so a typo fails here rather than as a signature or DNS error later.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw unsupported(uri, `"${bucket}" is not a valid bucket name`);
  }
  if (prefix && prefix.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw unsupported(uri, 'the prefix must not contain empty, "." or ".." segments');
  }
  return { bucket, prefix: prefix ? `${prefix}/` : '' };
}

function unsupported(uri: string, why: string): Error {
  return new Error(`unsupported store URI "${uri}" (${why}); expected ${ACCEPTED_FORMS}`);
}
