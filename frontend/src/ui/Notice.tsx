import { Children, type ReactNode } from 'react';

export type NoticeTone = 'error' | 'success' | 'info';

interface NoticeProps {
  tone: NoticeTone;
  children?: ReactNode;
}

/**
 * A message announced to screen readers. The region stays mounted while empty because
 * assistive technology only announces changes to a live region it already knows about.
 */
export function Notice({ tone, children }: NoticeProps) {
  const role = tone === 'error' ? 'alert' : 'status';
  // Conditional children (`{failed && '...'}`) leave false/empty values: those are no message.
  const hasContent = Children.toArray(children).some((child) => child !== '');

  return (
    <div role={role} aria-live={tone === 'error' ? 'assertive' : 'polite'}>
      {hasContent && <div className={`notice notice-${tone}`}>{children}</div>}
    </div>
  );
}
