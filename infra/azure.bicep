// The support-rotation bot in Azure: App Service (Python 3.11, `python app.py`), keyless Table Storage,
// an Azure Bot with the Teams channel, Application Insights over Log Analytics, and Key Vault for the
// secrets. One user-assigned managed identity is the bot's identity (BOT_TYPE=UserAssignedMSI) and the
// app's identity towards Storage and Key Vault, so no password or account key exists anywhere.
// Deploy: see infra/README.md (az deployment group create, or `atk provision` with m365agents.yml).

@minLength(4)
@maxLength(20)
@description('Base of every resource name, for example supportbot1a2b; lower-case letters, digits and hyphens.')
param resourceBaseName string

@description('Where everything but the Azure Bot goes (the bot registration is global).')
param location string = resourceGroup().location

@description('App Service plan SKU. Basic (B1) or higher: alwaysOn and the health check need it.')
param webAppSku string = 'B1'

@maxLength(42)
@description('The bot\'s display name in Azure.')
param botDisplayName string = 'Support Rotation'

@allowed([
  'F0'
  'S1'
])
@description('Azure Bot SKU; Teams is a standard channel, so F0 is enough.')
param botServiceSku string = 'F0'

@description('TABLE_PREFIX: in front of every table name; letters and digits only.')
param tablePrefix string = 'support'

@description('TEAM_TIMEZONE: the team\'s IANA time zone.')
param teamTimezone string = 'Europe/Berlin'

@description('ALLOWED_TENANT_IDS: comma-separated tenant ids the bot answers; by default only this tenant.')
param allowedTenantIds string = tenant().tenantId

@description('SUPPORT_CONFIG: path of the support catalogue YAML on the web app, e.g. /home/site/wwwroot/support.yaml; empty means the bundled example.')
param supportConfig string = ''

@description('LOG_LEVEL: DEBUG, INFO, WARNING or ERROR.')
@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

// Tunables are strings on purpose: empty means "the bot's own default" (see the README's configuration
// table), so the defaults live in one place, bot/config.py.
@description('FIRST_RESPONSE_TARGET_SECONDS; empty for the bot\'s default.')
param firstResponseTargetSeconds string = ''

@description('LEAD_ESCALATION_SECONDS; empty for the bot\'s default.')
param leadEscalationSeconds string = ''

@description('ALERT_ESCALATION_SECONDS; empty for the bot\'s default.')
param alertEscalationSeconds string = ''

@description('JOB_POLL_MILLISECONDS; empty for the bot\'s default.')
param jobPollMilliseconds string = ''

@description('JOB_GIVE_UP_SECONDS: how long a failing job is retried before it is parked; empty for the bot\'s default.')
param jobGiveUpSeconds string = ''

@description('TEAMS_SDK: the Teams adapter, botbuilder (the default) or agents (the Microsoft 365 Agents SDK).')
@allowed([
  'botbuilder'
  'agents'
])
param teamsSdk string = 'botbuilder'

@description('MAX_BODY_BYTES; empty for the bot\'s default.')
param maxBodyBytes string = ''

@description('JIRA_BASE_URL, e.g. https://yourcompany.atlassian.net; empty turns Jira off (and JIRA_EMAIL and JIRA_API_TOKEN with it).')
param jiraBaseUrl string = ''

@description('JIRA_EMAIL: the Jira account\'s e-mail address.')
param jiraEmail string = ''

@secure()
@description('JIRA_API_TOKEN, stored in Key Vault as jira-api-token. Leave empty to keep the secret already there (or to set it with az keyvault secret set).')
param jiraApiToken string = ''

@description('JIRA_RETRY_SECONDS; empty for the bot\'s default.')
param jiraRetrySeconds string = ''

@description('Turns the Bugsnag webhook (POST /api/bugsnag/<secret>) on: BUGSNAG_WEBHOOK_SECRET then refers to the Key Vault secret bugsnag-webhook-secret, which must exist (bugsnagWebhookSecret, or az keyvault secret set).')
param enableBugsnagWebhook bool = false

@secure()
@description('BUGSNAG_WEBHOOK_SECRET (at least 24 letters, digits, - or _), stored in Key Vault as bugsnag-webhook-secret. Leave empty to keep the secret already there.')
param bugsnagWebhookSecret string = ''

@description('BUGSNAG_PROJECT_IDS: comma-separated Bugsnag project ids whose webhooks are accepted; empty accepts any.')
param bugsnagProjectIds string = ''

@description('Turns the calendar feed (GET /api/rotation.ics?token=<token>) on: CALENDAR_FEED_TOKEN then refers to the Key Vault secret calendar-feed-token, which must exist (calendarFeedToken, or az keyvault secret set).')
param enableCalendarFeed bool = false

@secure()
@description('CALENDAR_FEED_TOKEN (at least 24 letters, digits, - or _), stored in Key Vault as calendar-feed-token. Leave empty to keep the secret already there.')
param calendarFeedToken string = ''

@description('ALERTS_CHANNEL_ID: the alert channel (19:...@thread.tacv2); empty until a lead says "alerts here" in it.')
param alertsChannelId string = ''

@description('TEAMS_SERVICE_URL: the Bot Connector URL for ALERTS_CHANNEL_ID (the serviceUrl Teams uses for your region); empty for the bot\'s default.')
param teamsServiceUrl string = ''

@description('TEAM_GROUP_ID: the team\'s Entra group id; turns on the Microsoft Graph features (roster sync, Outlook absences). The identity then needs the Graph application permissions GroupMember.Read.All and MailboxSettings.Read, see infra/README.md.')
param teamGroupId string = ''

@description('Object id of a user or group that may set Key Vault secrets ("Key Vault Secrets Officer"); empty grants nobody.')
param secretsOfficerPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('What secretsOfficerPrincipalId is.')
param secretsOfficerPrincipalType string = 'User'

@minValue(30)
@maxValue(730)
@description('How long Log Analytics keeps logs, in days.')
param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, resourceBaseName)
var storageAccountName = take('st${suffix}', 24)
var keyVaultName = take('kv-${suffix}', 24)
var jiraSecretName = 'jira-api-token'
var bugsnagSecretName = 'bugsnag-webhook-secret'
var calendarFeedSecretName = 'calendar-feed-token'
var jiraEnabled = !empty(jiraBaseUrl)
var bugsnagEnabled = enableBugsnagWebhook
var calendarFeedEnabled = enableCalendarFeed

// Built-in role definition ids (the same in every tenant).
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

// The one identity: the bot's Microsoft App ID is its client id.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${resourceBaseName}-id'
  location: location
}

// Observability: workspace-based Application Insights, and the app's stderr (JSON log lines) in the workspace.
resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${resourceBaseName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${resourceBaseName}-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

// Table Storage, reachable only with Entra ID tokens: shared keys are switched off.
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    defaultToOAuthAuthentication: true
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Secrets: Key Vault in RBAC mode; the app reads them through Key Vault references.
resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource jiraSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(jiraApiToken)) {
  parent: keyVault
  name: jiraSecretName
  properties: {
    value: jiraApiToken
  }
}

resource bugsnagSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(bugsnagWebhookSecret)) {
  parent: keyVault
  name: bugsnagSecretName
  properties: {
    value: bugsnagWebhookSecret
  }
}

resource calendarFeedSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(calendarFeedToken)) {
  parent: keyVault
  name: calendarFeedSecretName
  properties: {
    value: calendarFeedToken
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, identity.id, keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(keyVault.id, secretsOfficerPrincipalId, keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
  }
}

// Versionless references, so a new secret version is picked up without a redeploy.
var jiraTokenReference = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${jiraSecretName}/)'
var bugsnagSecretReference = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${bugsnagSecretName}/)'
var calendarFeedTokenReference = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${calendarFeedSecretName}/)'

// Compute: Linux App Service running `python app.py` on port 8000 (App Service's default for Python).
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${resourceBaseName}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: webAppSku
  }
  properties: {
    reserved: true
  }
}

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: resourceBaseName
  location: location
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appCommandLine: 'python app.py'
      alwaysOn: true
      healthCheckPath: '/healthz'
      ftpsState: 'Disabled'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        // The platform
        {
          name: 'SCM_DO_BUILD_DURING_DEPLOYMENT'
          value: 'true'
        }
        {
          name: 'WEBSITES_PORT'
          value: '8000'
        }
        {
          name: 'HOST'
          value: '0.0.0.0'
        }
        {
          name: 'PORT'
          value: '8000'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        // The bot's identity: no password, the managed identity's token instead.
        {
          name: 'BOT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'BOT_TYPE'
          value: 'UserAssignedMSI'
        }
        {
          name: 'BOT_TENANT_ID'
          value: tenant().tenantId
        }
        {
          // DefaultAzureCredential picks the user-assigned identity by this.
          name: 'AZURE_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'ALLOWED_TENANT_IDS'
          value: allowedTenantIds
        }
        // Microsoft Graph (roster sync, Outlook absences): the same identity, no client secret.
        {
          name: 'TEAM_GROUP_ID'
          value: teamGroupId
        }
        {
          name: 'GRAPH_TENANT_ID'
          value: tenant().tenantId
        }
        {
          name: 'GRAPH_CLIENT_ID'
          value: identity.properties.clientId
        }
        {
          name: 'GRAPH_MANAGED_IDENTITY_CLIENT_ID'
          value: identity.properties.clientId
        }
        // Storage: keyless, through the identity's "Storage Table Data Contributor" role.
        {
          name: 'TABLES_ENDPOINT'
          value: 'https://${storage.name}.table.${environment().suffixes.storage}'
        }
        {
          name: 'TABLE_PREFIX'
          value: tablePrefix
        }
        // Behaviour
        {
          name: 'TEAM_TIMEZONE'
          value: teamTimezone
        }
        {
          name: 'SUPPORT_CONFIG'
          value: supportConfig
        }
        {
          name: 'LOG_LEVEL'
          value: logLevel
        }
        {
          name: 'MAX_BODY_BYTES'
          value: maxBodyBytes
        }
        {
          name: 'FIRST_RESPONSE_TARGET_SECONDS'
          value: firstResponseTargetSeconds
        }
        {
          name: 'LEAD_ESCALATION_SECONDS'
          value: leadEscalationSeconds
        }
        {
          name: 'JOB_POLL_MILLISECONDS'
          value: jobPollMilliseconds
        }
        {
          name: 'JOB_GIVE_UP_SECONDS'
          value: jobGiveUpSeconds
        }
        {
          name: 'TEAMS_SDK'
          value: teamsSdk
        }
        // Jira: all three or none; the token comes from Key Vault.
        {
          name: 'JIRA_BASE_URL'
          value: jiraBaseUrl
        }
        {
          name: 'JIRA_EMAIL'
          value: jiraEnabled ? jiraEmail : ''
        }
        {
          name: 'JIRA_API_TOKEN'
          value: jiraEnabled ? jiraTokenReference : ''
        }
        {
          name: 'JIRA_RETRY_SECONDS'
          value: jiraRetrySeconds
        }
        // Bugsnag alerts: the webhook secret comes from Key Vault.
        {
          name: 'BUGSNAG_WEBHOOK_SECRET'
          value: bugsnagEnabled ? bugsnagSecretReference : ''
        }
        {
          name: 'BUGSNAG_PROJECT_IDS'
          value: bugsnagProjectIds
        }
        // The rotation's calendar feed: its token comes from Key Vault.
        {
          name: 'CALENDAR_FEED_TOKEN'
          value: calendarFeedEnabled ? calendarFeedTokenReference : ''
        }
        {
          name: 'ALERT_ESCALATION_SECONDS'
          value: alertEscalationSeconds
        }
        {
          name: 'ALERTS_CHANNEL_ID'
          value: alertsChannelId
        }
        {
          name: 'TEAMS_SERVICE_URL'
          value: teamsServiceUrl
        }
      ]
    }
  }
  // The app reads tables and secrets from its first start.
  dependsOn: [
    tableService
    tableDataContributor
    secretsUser
  ]
}

resource webAppLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: webApp
  properties: {
    workspaceId: logs.id
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceHTTPLogs'
        enabled: true
      }
      {
        category: 'AppServicePlatformLogs'
        enabled: true
      }
    ]
  }
}

// The bot registration: Teams sends activities to the web app; the bot signs in as the identity.
resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: resourceBaseName
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botServiceSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: 'https://${webApp.properties.defaultHostName}/api/messages'
    msaAppType: 'UserAssignedMSI'
    msaAppId: identity.properties.clientId
    msaAppMSIResourceId: identity.id
    msaAppTenantId: tenant().tenantId
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

// Written into env/.env.<env> by `atk provision`; BOT_ID and BOT_DOMAIN fill the app manifest.
output BOT_AZURE_APP_SERVICE_RESOURCE_ID string = webApp.id
output BOT_DOMAIN string = webApp.properties.defaultHostName
output BOT_ID string = identity.properties.clientId
output BOT_TENANT_ID string = tenant().tenantId
// For granting the identity its Microsoft Graph application permissions (infra/README.md).
output IDENTITY_PRINCIPAL_ID string = identity.properties.principalId
output TABLES_ENDPOINT string = 'https://${storage.name}.table.${environment().suffixes.storage}'
output KEY_VAULT_NAME string = keyVault.name
output STORAGE_ACCOUNT_NAME string = storage.name
