//! The audit context of each HTTP request: its id (`x-request-id`, set by tower-http's
//! request-id layers), its source address, its route template and, once authenticated, its
//! principal; and the recording of every refused access.
//!
//! The context lives in a task-local for the duration of the request, so a handler records an
//! action with one call ([`super::Audit::record`]) and the auth extractors note the principal
//! with one call ([`note_principal`]), without passing it around.
//!
//! A refusal is a 401 or 403 from any layer, or a 404 that [`crate::auth::Principal`] answered
//! for another tenant's resource (marked by `ApiError::denied`). It goes to the log of the
//! caller's tenant, or to the platform's when the caller is no tenant's principal; its detail
//! names the method and the route *template* (never the path, which would name the other
//! tenant's ids) and the status.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use tally_protocol::TenantId;
use tally_storage::AuditOutcome;

use crate::auth::Principal;
use crate::error::AccessDenied;
use crate::state::AppState;

/// Longest request id kept (a client may send its own).
const MAX_REQUEST_ID: usize = 64;

tokio::task_local! {
    static REQUEST: Arc<RequestAudit>;
}

/// What the audit log knows of the request being served.
#[derive(Debug, Default)]
pub(crate) struct RequestAudit {
    /// Its `x-request-id`.
    pub(crate) request_id: Option<String>,
    /// The caller's IP address.
    pub(crate) source: Option<String>,
    /// The route template matched (`/v1/tenants/{tenant}/…`).
    route: Mutex<Option<String>>,
    /// The authenticated principal: its tenant and how it is named in entries.
    principal: Mutex<Option<(Option<TenantId>, String)>>,
}

impl RequestAudit {
    /// How entries name the principal (`unauthenticated` before, or without, authentication).
    pub(crate) fn principal_name(&self) -> String {
        lock(&self.principal)
            .as_ref()
            .map_or_else(|| "unauthenticated".to_owned(), |(_, name)| name.clone())
    }

    /// Notes the authenticated principal: its tenant (`None` for the platform's) and how entries
    /// name it.
    pub(crate) fn note(&self, tenant: Option<TenantId>, name: String) {
        *lock(&self.principal) = Some((tenant, name));
    }

    /// The principal's tenant, if it is a tenant's.
    fn principal_tenant(&self) -> Option<TenantId> {
        lock(&self.principal).as_ref().and_then(|(t, _)| t.clone())
    }
}

/// Locks a mutex whose data stays valid whatever panicked.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The context of the request being served on this task, if any: a WebSocket handler takes it
/// into the socket's task (which runs after the request) to record refusals made there.
pub(crate) fn current() -> Option<Arc<RequestAudit>> {
    REQUEST.try_with(Arc::clone).ok()
}

/// Notes the request's authenticated principal (called by the auth extractors).
pub(crate) fn note_principal(principal: &Principal) {
    let noted = match principal {
        Principal::SuperAdmin => (None, "platform admin".to_owned()),
        Principal::Tenant {
            tenant, role, jti, ..
        } => {
            let role = match role {
                crate::auth::Role::Admin => "admin",
                crate::auth::Role::Viewer => "viewer",
            };
            let id = jti.as_deref().unwrap_or("without jti");
            (Some(tenant.clone()), format!("{role} token {id}"))
        }
    };
    if let Some(context) = current() {
        context.note(noted.0, noted.1);
    }
}

/// Route middleware: notes the matched route template.
pub(crate) async fn note_route(request: Request, next: Next) -> Response {
    if let (Some(context), Some(path)) = (current(), request.extensions().get::<MatchedPath>()) {
        *lock(&context.route) = Some(path.as_str().to_owned());
    }
    next.run(request).await
}

/// Middleware: serves the request inside its audit context and records a refusal.
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .map(|id| id.chars().take(MAX_REQUEST_ID).collect());
    let source = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let context = Arc::new(RequestAudit {
        request_id,
        source,
        ..RequestAudit::default()
    });
    let method = request.method().clone();
    let response = REQUEST.scope(Arc::clone(&context), next.run(request)).await;
    let status = response.status();
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        || response.extensions().get::<AccessDenied>().is_some();
    if refused {
        let route = lock(&context.route)
            .clone()
            .unwrap_or_else(|| "an unmatched route".to_owned());
        let tenant = context.principal_tenant();
        state.audit.record_for(
            Some(&context),
            super::DENIED,
            tenant.as_ref(),
            AuditOutcome::Denied,
            format!("{method} {route} answered {}", status.as_u16()),
        );
    }
    response
}
