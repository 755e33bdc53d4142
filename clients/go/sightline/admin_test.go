package sightline_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
	"sightline/clients/go/sightline"
)

// Every AdminService RPC on its success path and on an error path, through the raw stubs.
func TestAdminService(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	name := uniqueName("adm")

	created, err := admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: name, DisplayName: "Admin test"}})
	if err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	if created.GetProject().GetName() != name || created.GetProject().GetDisplayName() != "Admin test" || created.GetProject().GetCreateTime() == nil {
		t.Fatalf("CreateProject returned %v", created.GetProject())
	}
	_, err = admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: name}})
	e := wantError(t, "CreateProject twice", err, codes.AlreadyExists, sightline.ReasonAlreadyExists)
	if e.ResourceName != name {
		t.Fatalf("ALREADY_EXISTS names %q, want %q", e.ResourceName, name)
	}
	_, err = admin.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: "Not A Name"}})
	e = wantError(t, "CreateProject with a bad name", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "CreateProject with a bad name", e, "project.name")

	got, err := admin.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: name})
	if err != nil || got.GetProject().GetName() != name {
		t.Fatalf("GetProject: %v, %v", got, err)
	}
	_, err = admin.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: name + "x"})
	e = wantError(t, "GetProject of a missing project", err, codes.NotFound, sightline.ReasonNotFound)
	if e.ResourceName != name+"x" || e.Metadata["resourceName"] != name+"x" {
		t.Fatalf("NOT_FOUND details: resource %q, metadata %v", e.ResourceName, e.Metadata)
	}

	listed, err := admin.Admin.ListProjects(ctx, &sightlinev1.ListProjectsRequest{PageSize: 1000})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	if !containsProject(listed.GetProjects(), name) {
		t.Fatalf("ListProjects lacks %q", name)
	}
	_, err = admin.Admin.ListProjects(ctx, &sightlinev1.ListProjectsRequest{PageSize: 5000})
	e = wantError(t, "ListProjects with page_size 5000", err, codes.InvalidArgument, sightline.ReasonInvalidArgument)
	hasViolation(t, "ListProjects", e, "page_size")

	key, err := admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: name, DisplayName: "ci"})
	if err != nil {
		t.Fatalf("CreateApiKey: %v", err)
	}
	if !strings.HasPrefix(key.GetSecret(), "slk_") || key.GetApiKey().GetProject() != name || key.GetApiKey().GetId() == "" {
		t.Fatalf("CreateApiKey returned %v", key)
	}
	_, err = admin.Admin.CreateApiKey(ctx, &sightlinev1.CreateApiKeyRequest{Project: name + "x"})
	wantError(t, "CreateApiKey for a missing project", err, codes.NotFound, sightline.ReasonNotFound)

	keys, err := admin.Admin.ListApiKeys(ctx, &sightlinev1.ListApiKeysRequest{Project: name})
	if err != nil {
		t.Fatalf("ListApiKeys: %v", err)
	}
	if len(keys.GetApiKeys()) != 1 || keys.GetApiKeys()[0].GetId() != key.GetApiKey().GetId() || keys.GetApiKeys()[0].GetRevokeTime() != nil {
		t.Fatalf("ListApiKeys returned %v", keys.GetApiKeys())
	}
	_, err = admin.Admin.ListApiKeys(ctx, &sightlinev1.ListApiKeysRequest{Project: name + "x"})
	wantError(t, "ListApiKeys of a missing project", err, codes.NotFound, sightline.ReasonNotFound)

	// A project key reaches its own project but no admin-only call.
	projectClient := dial(t, s.Server.Addr, sightline.WithAPIKey(key.GetSecret()))
	if _, err := projectClient.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: name}); err != nil {
		t.Fatalf("GetProject with the project's key: %v", err)
	}
	_, err = projectClient.Admin.CreateProject(ctx, &sightlinev1.CreateProjectRequest{Project: &sightlinev1.Project{Name: uniqueName("other")}})
	wantError(t, "CreateProject with a project key", err, codes.PermissionDenied, sightline.ReasonPermissionDenied)

	revoked, err := admin.Admin.RevokeApiKey(ctx, &sightlinev1.RevokeApiKeyRequest{Project: name, Id: key.GetApiKey().GetId()})
	if err != nil || revoked.GetApiKey().GetRevokeTime() == nil {
		t.Fatalf("RevokeApiKey: %v, %v", revoked, err)
	}
	_, err = admin.Admin.RevokeApiKey(ctx, &sightlinev1.RevokeApiKeyRequest{Project: name, Id: "slk_doesnotexist"})
	wantError(t, "RevokeApiKey of an unknown key", err, codes.NotFound, sightline.ReasonNotFound)

	if _, err := admin.Admin.DeleteProject(ctx, &sightlinev1.DeleteProjectRequest{Name: name}); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	_, err = admin.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: name})
	wantError(t, "GetProject after DeleteProject", err, codes.NotFound, sightline.ReasonNotFound)
	_, err = admin.Admin.DeleteProject(ctx, &sightlinev1.DeleteProjectRequest{Name: name})
	wantError(t, "DeleteProject twice", err, codes.NotFound, sightline.ReasonNotFound)
}

func containsProject(projects []*sightlinev1.Project, name string) bool {
	for _, p := range projects {
		if p.GetName() == name {
			return true
		}
	}
	return false
}

// The documented API-key failures: a missing key, a wrong key and a revoked key are UNAUTHENTICATED with their own
// reasons; a key of another project is PERMISSION_DENIED.
func TestAPIKeyErrors(t *testing.T) {
	admin, s := adminClient(t)
	ctx := ctxFor(t, time.Minute)
	project, projectClient := projectWithKey(t, ctx, admin, s.Server.Addr)
	if _, err := projectClient.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project}); err != nil {
		t.Fatalf("the fresh key fails: %v", err)
	}

	noKey := dial(t, s.Server.Addr)
	_, err := noKey.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project})
	wantError(t, "no key", err, codes.Unauthenticated, sightline.ReasonAPIKeyMissing)

	wrongKey := dial(t, s.Server.Addr, sightline.WithAPIKey("slk_"+uniqueName("wrong")))
	_, err = wrongKey.Catalog.ListDataCollections(ctx, &sightlinev1.ListDataCollectionsRequest{Project: project})
	e := wantError(t, "wrong key", err, codes.Unauthenticated, sightline.ReasonAPIKeyInvalid)
	if e.ErrorReason() != sightlinev1.ErrorReason_ERROR_REASON_API_KEY_INVALID || e.Retryable() {
		t.Fatalf("wrong key: enum %v, retryable %v", e.ErrorReason(), e.Retryable())
	}

	// A key of another project.
	_, otherClient := projectWithKey(t, ctx, admin, s.Server.Addr)
	_, err = otherClient.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project})
	wantError(t, "another project's key", err, codes.PermissionDenied, sightline.ReasonPermissionDenied)

	keys, err := admin.Admin.ListApiKeys(ctx, &sightlinev1.ListApiKeysRequest{Project: project})
	if err != nil || len(keys.GetApiKeys()) != 1 {
		t.Fatalf("ListApiKeys: %v, %v", keys, err)
	}
	if _, err := admin.Admin.RevokeApiKey(ctx, &sightlinev1.RevokeApiKeyRequest{Project: project, Id: keys.GetApiKeys()[0].GetId()}); err != nil {
		t.Fatalf("RevokeApiKey: %v", err)
	}
	_, err = projectClient.Admin.GetProject(ctx, &sightlinev1.GetProjectRequest{Name: project})
	wantError(t, "revoked key", err, codes.Unauthenticated, sightline.ReasonAPIKeyRevoked)
	// The helpers fail alike: Put through a revoked key.
	_, err = projectClient.Put(ctx, sightline.SplitTarget(project, "any", "train"), &sightlinev1.RecordBatch{RecordIds: []string{"a"}})
	wantError(t, "Put with a revoked key", err, codes.Unauthenticated, sightline.ReasonAPIKeyRevoked)
}
