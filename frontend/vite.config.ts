/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// In development the API runs beside Vite; in every other setup it serves the built app
// itself (or sits behind the same nginx), so requests stay same-origin.
const apiTarget = process.env.API_URL ?? 'http://127.0.0.1:8000';
const proxied = ['/auth', '/face', '/docs', '/openapi.json'];

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: apiTarget }])),
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
