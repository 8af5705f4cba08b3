import { useEffect, useRef, useState } from 'react';

import { createEventsTicket } from './api';
import { followJobEvents, type StreamState } from './jobEvents';
import type { JobUpdate } from './jobs';

/** Follows job updates while mounted; handlers may change between renders. */
export function useJobEvents(onUpdate: (update: JobUpdate) => void, onOpen: () => void) {
  const [state, setState] = useState<StreamState>('connecting');
  const handlers = useRef({ onUpdate, onOpen });
  useEffect(() => {
    handlers.current = { onUpdate, onOpen };
  });

  useEffect(
    () =>
      followJobEvents(
        {
          onUpdate: (update) => handlers.current.onUpdate(update),
          onOpen: () => handlers.current.onOpen(),
          onState: setState,
        },
        { getTicket: createEventsTicket },
      ),
    [],
  );

  return state;
}
