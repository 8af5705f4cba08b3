import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';

import { resetSessionForTests } from '../api/session';
import { installFetchMock, unmocked } from './fetchMock';

const realFetch = globalThis.fetch;

beforeEach(() => {
  resetSessionForTests();
  installFetchMock();
});

afterEach(() => {
  cleanup();
  globalThis.fetch = realFetch;
  if (unmocked.length > 0) {
    throw new Error(`requests without a mock: ${unmocked.join(', ')}`);
  }
});
