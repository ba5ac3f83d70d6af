//! The calls into a loaded plugin, one method per export of its world, for
//! either WIT version it was built against: 0.2.x directly, 0.1.x through
//! the adapter in [`super::v0_1`].

use super::bindings::policy::PolicyPre;
use super::bindings::provider::ProviderPre;
use super::bindings::{self, policy_api, provider_api, types};
use super::sandbox::CallState;
use super::{CallError, CallInput, PluginCore, PolicyPlugin, ProviderPlugin, v0_1};

/// A provider component pre-linked for its WIT version.
pub(super) enum ProviderPreOf {
    /// 0.2.x.
    Now(ProviderPre<CallState>),
    /// 0.1.x, through the adapter.
    V0_1(bindings::v0_1::provider::ProviderPre<CallState>),
}

/// A policy component pre-linked for its WIT version.
pub(super) enum PolicyPreOf {
    /// 0.2.x.
    Now(PolicyPre<CallState>),
    /// 0.1.x, through the adapter.
    V0_1(bindings::v0_1::policy::PolicyPre<CallState>),
}

impl ProviderPlugin {
    /// The shared parts: manifest, label, cache facts.
    pub fn core(&self) -> &PluginCore {
        &self.core
    }

    /// Calls `validate-config` with `config` (JSON object text). A 0.1
    /// component cannot validate: it accepts everything.
    pub async fn validate_config(
        &self,
        input: &CallInput,
        config: &str,
    ) -> Result<Result<(), types::PluginError>, CallError> {
        self.core
            .run(input, "validate_config", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider()
                        .call_validate_config(store, config)
                        .await
                }
                ProviderPreOf::V0_1(_) => Ok(Ok(())),
            })
            .await
    }

    /// Calls `models`.
    pub async fn models(
        &self,
        input: &CallInput,
    ) -> Result<Vec<provider_api::ModelInfo>, CallError> {
        self.core
            .run(input, "models", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider().call_models(store).await
                }
                ProviderPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let models = p.imini_plugin_model_provider().call_models(store).await?;
                    Ok(models.into_iter().map(v0_1::model_back).collect())
                }
            })
            .await
    }

    /// Calls `generate`.
    pub async fn generate(
        &self,
        input: &CallInput,
        req: &types::GenerationRequest,
    ) -> Result<Result<types::GenerationResult, types::PluginError>, CallError> {
        self.core
            .run(input, "generate", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider()
                        .call_generate(store, req)
                        .await
                }
                ProviderPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p
                        .imini_plugin_model_provider()
                        .call_generate(store, &v0_1::request(req))
                        .await?;
                    Ok(answer.map(v0_1::result_back).map_err(v0_1::error_back))
                }
            })
            .await
    }

    /// Calls `submit`.
    pub async fn submit(
        &self,
        input: &CallInput,
        req: &types::GenerationRequest,
    ) -> Result<Result<provider_api::Submission, types::PluginError>, CallError> {
        self.core
            .run(input, "submit", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider()
                        .call_submit(store, req)
                        .await
                }
                ProviderPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p
                        .imini_plugin_model_provider()
                        .call_submit(store, &v0_1::request(req))
                        .await?;
                    Ok(answer.map(v0_1::submission_back).map_err(v0_1::error_back))
                }
            })
            .await
    }

    /// Calls `poll`.
    pub async fn poll(
        &self,
        input: &CallInput,
        model: &str,
        handle: &str,
    ) -> Result<Result<provider_api::JobStatus, types::PluginError>, CallError> {
        self.core
            .run(input, "poll", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider()
                        .call_poll(store, model, handle)
                        .await
                }
                ProviderPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p
                        .imini_plugin_model_provider()
                        .call_poll(store, model, handle)
                        .await?;
                    Ok(answer.map(v0_1::job_back).map_err(v0_1::error_back))
                }
            })
            .await
    }

    /// Calls `cancel`.
    pub async fn cancel(
        &self,
        input: &CallInput,
        model: &str,
        handle: &str,
    ) -> Result<Result<(), types::PluginError>, CallError> {
        self.core
            .run(input, "cancel", async |store| match &self.pre {
                ProviderPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_model_provider()
                        .call_cancel(store, model, handle)
                        .await
                }
                ProviderPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p
                        .imini_plugin_model_provider()
                        .call_cancel(store, model, handle)
                        .await?;
                    Ok(answer.map_err(v0_1::error_back))
                }
            })
            .await
    }
}

impl PolicyPlugin {
    /// The shared parts: manifest, label, cache facts.
    pub fn core(&self) -> &PluginCore {
        &self.core
    }

    /// Calls `validate-config` with `config` (JSON object text). A 0.1
    /// component cannot validate: it accepts everything.
    pub async fn validate_config(
        &self,
        input: &CallInput,
        config: &str,
    ) -> Result<Result<(), types::PluginError>, CallError> {
        self.core
            .run(input, "validate_config", async |store| match &self.pre {
                PolicyPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_content_policy()
                        .call_validate_config(store, config)
                        .await
                }
                PolicyPreOf::V0_1(_) => Ok(Ok(())),
            })
            .await
    }

    /// Calls `describe`.
    pub async fn describe(
        &self,
        input: &CallInput,
    ) -> Result<Result<policy_api::PolicyInfo, types::PluginError>, CallError> {
        self.core
            .run(input, "describe", async |store| match &self.pre {
                PolicyPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_content_policy().call_describe(store).await
                }
                PolicyPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p.imini_plugin_content_policy().call_describe(store).await?;
                    Ok(answer.map(v0_1::info_back).map_err(v0_1::error_back))
                }
            })
            .await
    }

    /// Calls `check-request`.
    pub async fn check_request(
        &self,
        input: &CallInput,
        req: &types::GenerationRequest,
    ) -> Result<Result<policy_api::Verdict, types::PluginError>, CallError> {
        self.core
            .run(input, "check_request", async |store| match &self.pre {
                PolicyPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_content_policy()
                        .call_check_request(store, req)
                        .await
                }
                PolicyPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let answer = p
                        .imini_plugin_content_policy()
                        .call_check_request(store, &v0_1::request(req))
                        .await?;
                    Ok(answer.map(v0_1::verdict_back).map_err(v0_1::error_back))
                }
            })
            .await
    }

    /// Calls `check-output`.
    pub async fn check_output(
        &self,
        input: &CallInput,
        req: &types::GenerationRequest,
        outputs: &[types::Media],
    ) -> Result<Result<policy_api::Verdict, types::PluginError>, CallError> {
        self.core
            .run(input, "check_output", async |store| match &self.pre {
                PolicyPreOf::Now(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    p.imini_plugin_content_policy()
                        .call_check_output(store, req, outputs)
                        .await
                }
                PolicyPreOf::V0_1(pre) => {
                    let p = pre.instantiate_async(&mut *store).await?;
                    let outputs: Vec<_> = outputs.iter().map(v0_1::media).collect();
                    let answer = p
                        .imini_plugin_content_policy()
                        .call_check_output(store, &v0_1::request(req), &outputs)
                        .await?;
                    Ok(answer.map(v0_1::verdict_back).map_err(v0_1::error_back))
                }
            })
            .await
    }
}
