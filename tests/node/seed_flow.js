// The seed's flow (ListTaskInstances, then TriggerSchedulerTaskInstance) through Alibaba's Node.js OpenAPI
// transport, @alicloud/openapi-client, as the DataWorks Node SDK calls it (callApi, RPC style, ACS3 signature).
// Usage: node seed_flow.js <host:port> <workspace id> <bizdate ms> <task id>; AccessKey from
// ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET. Prints one JSON line per answer body.
"use strict";
const OpenApi = require("@alicloud/openapi-client");
const $OpenApi = OpenApi;
const $Util = require("@alicloud/tea-util");

async function call(client, action, query, body) {
  const params = new $OpenApi.Params({
    action, version: "2024-05-18", protocol: "HTTP", pathname: "/", method: "POST",
    authType: "AK", style: "RPC", reqBodyType: "formData", bodyType: "json",
  });
  const request = new $OpenApi.OpenApiRequest({ query, body });
  const runtime = new $Util.RuntimeOptions({ readTimeout: 10000, connectTimeout: 5000 });
  const answer = await client.callApi(params, request, runtime);
  return answer.body;
}

async function main() {
  const [endpoint, projectId, bizdate, taskId] = process.argv.slice(2);
  const client = new OpenApi.default(new $OpenApi.Config({
    endpoint, protocol: "HTTP", regionId: "cn-hangzhou",
    accessKeyId: process.env.ALIBABA_CLOUD_ACCESS_KEY_ID,
    accessKeySecret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
  }));
  const listed = await call(client, "ListTaskInstances", {}, { ProjectId: projectId, Bizdate: bizdate, TaskId: taskId });
  console.log(JSON.stringify(listed));
  const instance = listed.PagingInfo.TaskInstances[0];
  const triggered = await call(client, "TriggerSchedulerTaskInstance", { EnvType: "Prod" },
    { TaskId: taskId, TriggerTime: String(instance.TriggerTime) });
  console.log(JSON.stringify(triggered));
}

main().catch((err) => {
  console.error(`${err.code || err.name}: ${err.message}`);
  process.exit(1);
});
