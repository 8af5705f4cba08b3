// Saves the running API's OpenAPI schema to openapi.json, then `npm run gen:api` types it.
// Usage: API_URL=http://127.0.0.1:8000 npm run fetch:api
import { writeFileSync } from 'node:fs';

const apiUrl = (process.env.API_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');

let response;
try {
  response = await fetch(`${apiUrl}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
} catch (cause) {
  console.error(`Could not reach ${apiUrl}/openapi.json (${cause.message}).`);
  console.error('Start the API, or set API_URL to where it runs, then retry.');
  process.exit(1);
}
if (!response.ok) {
  console.error(`${apiUrl}/openapi.json answered ${response.status}; is this the Effi API?`);
  process.exit(1);
}

const schema = await response.json();
writeFileSync(new URL('../openapi.json', import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
console.log(`saved openapi.json from ${apiUrl}; now run \`npm run gen:api\``);
