import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { restoreSession } from './api/session';
import { App } from './App';
import './styles.css';

// Try the refresh cookie once at start-up; pages wait for the answer before deciding.
void restoreSession();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
