import * as path from 'node:path';
import type { S3StoreOptions } from '../../src/storage/blob-store';
import { FileBlobStore } from '../../src/storage/file-blob-store';
import { openBlobStore } from '../../src/storage/open-store';
import { S3BlobStore } from '../../src/storage/s3-blob-store';

const s3: S3StoreOptions = { region: 'us-east-1', forcePathStyle: true, endpoint: 'http://127.0.0.1:1' };

describe('openBlobStore', () => {
  test.each([
    ['file:///var/data/store', '/var/data/store'],
    ['file:///var/data/my%20store', '/var/data/my store'],
    ['file:data/store', path.resolve('data/store')],
    ['file://./data/store', path.resolve('data/store')],
    ['file://../elsewhere', path.resolve('../elsewhere')],
    ['file:/abs/path', '/abs/path'],
  ])('%s is a FileBlobStore rooted at %s', async (uri, root) => {
    const store = openBlobStore(uri, s3);
    expect(store).toBeInstanceOf(FileBlobStore);
    expect((store as FileBlobStore).root).toBe(root);
    expect(store.uri).toBe(uri);
    await store.close();
  });

  test.each([
    ['s3://loopkeeper', 'loopkeeper', ''],
    ['s3://loopkeeper/', 'loopkeeper', ''],
    ['s3://loopkeeper/env/prod', 'loopkeeper', 'env/prod/'],
    ['s3://my.bucket-1/env/prod/', 'my.bucket-1', 'env/prod/'],
  ])('%s is an S3BlobStore on bucket %s with prefix %j', async (uri, bucket, prefix) => {
    const store = openBlobStore(uri, s3);
    expect(store).toBeInstanceOf(S3BlobStore);
    expect(store).toMatchObject({ bucket, prefix, uri });
    await store.close();
  });

  test.each([
    ['', /unknown scheme/],
    ['/var/data/store', /unknown scheme/],
    ['data/store', /unknown scheme/],
    ['http://example.com/store', /unknown scheme/],
    ['S3://bucket', /unknown scheme/],
    ['gs://bucket/x', /unknown scheme/],
    ['file:', /empty path/],
    ['file://', /absolute path or \.\/relative/],
    ['file://data/store', /absolute path or \.\/relative/],
    ['file://host/var/data', /absolute path or \.\/relative/],
    ['file:///var/a%2Fb', /unsupported store URI/],
    ['file:bad%zz', /unsupported store URI/],
    ['s3://', /not a valid bucket name/],
    ['s3:///prefix', /not a valid bucket name/],
    ['s3://Upper/x', /not a valid bucket name/],
    ['s3://ab', /not a valid bucket name/],
    ['s3://bucket//x', /empty, "\." or "\.\." segments/],
    ['s3://bucket/a/../b', /empty, "\." or "\.\." segments/],
  ])('%j is rejected (%s)', (uri, why) => {
    const open = (): unknown => openBlobStore(uri, s3);
    expect(open).toThrow(why);
    expect(open).toThrow(`unsupported store URI "${uri}"`);
    expect(open).toThrow(
      /file:\/\/\/absolute\/path, file:relative\/path, file:\/\/\.\/relative\/path .*s3:\/\/bucket\[\/prefix\]/,
    );
  });
});
