import type { ManifestBody } from '../../shared/manifest/sliced-read.js';

/** What a manifest source answers: "unchanged" is a result, not an error. */
export interface Validators {
  /** The Last-Modified header (http) or file mtime in ms (file://), as last seen. */
  readonly lastModified?: string;
  readonly etag?: string;
}

export type SourceResult =
  | { readonly status: 'unchanged' }
  /** `downloaded`: the bytes that came over the wire (compressed, when they were). */
  /** `json`: the JSON text, or a sliced gzip manifest to read slice by slice (shared/manifest/sliced-read.ts). */
  | { readonly status: 'fetched'; readonly json: ManifestBody; readonly validators: Validators; readonly downloaded: number };

export interface SourceRequest {
  readonly previous: Validators;
  /** -n / a changed config: fetch even if unchanged. */
  readonly force: boolean;
  readonly maxBytes: number;
}
