/**
 * Settings of the web app, read and checked once from Vite's environment (`VITE_*`).
 *
 * VITE_API_BASE_URL  where the API lives; empty (the default) means this page's own origin,
 *                    which is how both the API-served build and the nginx setup run.
 * VITE_MAX_UPLOAD_MB the largest photo the app sends; keep it equal to the API's
 *                    MAX_FILE_SIZE_MB so people hear about a too-large file before uploading.
 */

export interface AppConfig {
  apiBaseUrl: string;
  maxUploadBytes: number;
  recentVerificationsLimit: number;
}

function readApiBaseUrl(raw: string | undefined): string {
  const value = (raw ?? '').trim().replace(/\/+$/, '');
  if (value === '') {
    return window.location.origin;
  }

  try {
    new URL(value);
  } catch {
    throw new Error(
      `VITE_API_BASE_URL=${JSON.stringify(raw)} is not an absolute URL;` +
        ' set it to e.g. https://id.example.com, or leave it empty for this origin',
    );
  }
  return value;
}

function readMaxUploadBytes(raw: string | undefined): number {
  const megabytes = raw === undefined || raw === '' ? 8 : Number(raw);
  if (!Number.isFinite(megabytes) || megabytes <= 0) {
    throw new Error(
      `VITE_MAX_UPLOAD_MB=${JSON.stringify(raw)} is not a positive number;` +
        " set it to the API's MAX_FILE_SIZE_MB (8 by default)",
    );
  }
  return Math.floor(megabytes * 1024 * 1024);
}

export const config: AppConfig = {
  apiBaseUrl: readApiBaseUrl(import.meta.env.VITE_API_BASE_URL),
  maxUploadBytes: readMaxUploadBytes(import.meta.env.VITE_MAX_UPLOAD_MB),
  recentVerificationsLimit: 10,
};
