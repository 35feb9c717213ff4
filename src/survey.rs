//! The domain step of the citizen's path: a validated submission becomes a stored response.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::desks::DeskContext;
use crate::db::responses::{self, Channel, NewResponse, Stored};
use crate::error::AppError;
use crate::forms::FormVersion;
use crate::forms::submission::ValidAnswers;

/// Stores a citizen's answers given through a desk code, exactly once per submission key.
pub async fn store_response(
    conn: &mut AsyncPgConnection,
    desk: &DeskContext,
    desk_code: &str,
    version: &FormVersion,
    submission_key: Uuid,
    answers: &ValidAnswers,
) -> Result<Stored, AppError> {
    let texts = answers
        .texts
        .iter()
        .map(|(code, text)| match version.item_ids.get(code) {
            Some(item_id) => Ok((*item_id, text.as_str())),
            None => Err(AppError::internal(anyhow::anyhow!(
                "form version {} has no stored item {code}",
                version.id
            ))),
        })
        .collect::<Result<Vec<(i32, &str)>, AppError>>()?;
    let stored = responses::store(
        conn,
        &NewResponse {
            submission_key,
            unit_id: desk.unit_id,
            desk_id: Some(desk.desk_id),
            desk_code: Some(desk_code),
            form_version_id: version.id,
            channel: Channel::Qr.as_str(),
            answers: &answers.choices,
        },
        &texts,
    )
    .await?;
    Ok(stored)
}
