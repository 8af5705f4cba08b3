import { useEffect, type ReactNode } from 'react';

interface AuthCardProps {
  title: string;
  children: ReactNode;
  footer?: ReactNode;
}

/** The narrow centred card used by the signed-out pages. */
export function AuthCard({ title, children, footer }: AuthCardProps) {
  useEffect(() => {
    document.title = `${title} · Effi Core`;
  }, [title]);

  return (
    <main className="auth-page">
      <p className="brand" aria-hidden="true">
        Effi Core
      </p>
      <section className="card auth-card" aria-labelledby="page-title">
        <h1 id="page-title">{title}</h1>
        {children}
      </section>
      {footer && (
        <nav className="auth-links" aria-label="Other pages">
          {footer}
        </nav>
      )}
    </main>
  );
}
