//! `/me/login-history`: sign-in attempts, as JSON or as a CSV/JSON download.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::device::DeviceKind;
use crate::domain::location::Location;
use crate::domain::sign_in::SignInRecord;
use crate::error::{Error, Result};
use crate::service::history;
use crate::state::AppState;

use super::error::ErrorBody;
use super::extract::{ApiQuery, Auth};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login_history))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1–500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `csv` or `json` for a download (`Content-Disposition: attachment`).
    #[param(inline)]
    format: Option<ExportFormat>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Serialize, ToSchema)]
pub struct LoginView {
    at: DateTime<Utc>,
    success: bool,
    ip: String,
    user_agent: Option<String>,
    device_kind: DeviceKind,
    location: Location,
    mfa_challenged: bool,
    /// `password`, or `oauth:<provider>`.
    method: String,
    /// Why it failed: `invalid_password`, `invalid_code`, `rate_limited`, `email_unverified`,
    /// or `disabled` (the account is disabled by an operator; the caller was told only
    /// `invalid_credentials`).
    failure: Option<String>,
}

impl From<SignInRecord> for LoginView {
    fn from(r: SignInRecord) -> Self {
        let e = r.event;
        Self {
            at: e.at,
            success: e.success,
            ip: e.ip,
            user_agent: e.user_agent,
            device_kind: e.device_kind,
            location: e.location,
            mfa_challenged: e.mfa_challenged,
            method: e.method,
            failure: e.failure,
        }
    }
}

/// Recent sign-in attempts on this account, successful and failed, newest first.
#[utoipa::path(get, path = "/me/login-history", tag = "history", security(("bearer" = [])), params(HistoryQuery), responses(
    (status = 200, description = "JSON list, or a download with `format` (CSV or JSON, `Content-Disposition: attachment`)",
        content((Vec<LoginView> = "application/json"), (String = "text/csv"))),
    (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
))]
async fn login_history(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Response> {
    let rows: Vec<LoginView> =
        history::list(&state, &caller, q.limit).await?.into_iter().map(LoginView::from).collect();
    Ok(match q.format {
        None => axum::Json(rows).into_response(),
        Some(ExportFormat::Json) => {
            let body = serde_json::to_vec_pretty(&rows).map_err(Error::internal)?;
            download("application/json", "login-history.json", body)
        }
        Some(ExportFormat::Csv) => download("text/csv; charset=utf-8", "login-history.csv", to_csv(&rows)?),
    })
}

fn download(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
        .into_response()
}

/// A cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
/// gets a leading `'`, as OWASP advises for CSV injection: a user agent is anyone's to write.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn to_csv(rows: &[LoginView]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "at",
        "success",
        "ip",
        "user_agent",
        "device_kind",
        "location",
        "country",
        "city",
        "mfa_challenged",
        "method",
        "failure",
    ];
    w.write_record(header).map_err(Error::internal)?;
    for r in rows {
        w.write_record([
            // Written as the JSON answer writes it (chrono's serde form), so that a row
            // of one export reads the same in the other, a whole second included.
            r.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true).as_str(),
            if r.success { "true" } else { "false" },
            &r.ip,
            &spreadsheet_safe(r.user_agent.as_deref().unwrap_or("")),
            r.device_kind.as_str(),
            &spreadsheet_safe(&r.location.label),
            r.location.country.as_deref().unwrap_or(""),
            &spreadsheet_safe(r.location.city.as_deref().unwrap_or("")),
            if r.mfa_challenged { "true" } else { "false" },
            &r.method,
            r.failure.as_deref().unwrap_or(""),
        ])
        .map_err(Error::internal)?;
    }
    w.into_inner().map_err(|e| Error::internal(anyhow::anyhow!("csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn csv_times_are_written_as_the_json_answer_writes_them() {
        use chrono::{TimeZone, Utc};
        for at in [Utc.timestamp_millis_opt(1_796_678_000_000), Utc.timestamp_millis_opt(1_796_678_000_120)] {
            let at = at.unwrap();
            let json = serde_json::to_value(at).unwrap();
            assert_eq!(json.as_str().unwrap(), at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(bad), format!("'{bad}"));
        }
        assert_eq!(spreadsheet_safe("Mozilla/5.0"), "Mozilla/5.0");
    }
}
